import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compare, groupOf } from '../../src/analysis/index.js';
import { createProgress } from '../../src/cli/progress.js';
import { escapeControl, escapeControlKeepLines, formatParams, planTable } from '../../src/report/index.js';
import { planText } from '../helpers/catalog.js';
import { repetitionResult } from '../helpers/results.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** A cell whose param value and image carry a newline, a clear-screen and colour escapes. */
async function hostileCell() {
  const plan = await planText(`name: esc
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark:
      name: mine
      image: "alp\\e[31mine"
      command: [echo, "{{s}}"]
      params: { s: { type: string, default: "a\\nb\\e[2J\\u202e" } }
`);
  return plan.cells[0]!;
}

describe('control characters never reach a terminal line', () => {
  it('escapes every control character visibly; printable text (any script) is left alone', () => {
    expect(escapeControl('a\nb\u001b[31m\t\u0000\u009b\u202e')).toBe('a\\nb\\x1b[31m\\t\\x00\\x9b\\u202e');
    expect(escapeControlKeepLines('one\ntwo\r\n')).toBe('one\ntwo\\r\n');
    expect(escapeControl('threads=4 größe=ü 表 🚀')).toBe('threads=4 größe=ü 表 🚀');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(escapeControl(s)).not.toMatch(CONTROL);
        expect(escapeControlKeepLines(s).split('\n').join('')).not.toMatch(CONTROL);
      }),
      { seed: 15, numRuns: 300 },
    );
  });

  it('progress prints one line per event, whatever the params, image or failure reason hold', async () => {
    const cell = await hostileCell();
    const lines: string[] = [];
    const progress = createProgress(2, { interactive: false, write: (l) => lines.push(l) });
    progress.onEvent({ type: 'image-build', target: 'here', image: cell.image, context: '/x\n/y' });
    progress.onEvent({
      type: 'repetition-finished',
      cell,
      result: repetitionResult({
        status: 'failed',
        failureClass: 'BENCHMARK_FAILED',
        failureReason: 'exit 1\n\u001b[2Jdone',
      }),
    });
    progress.onEvent({ type: 'repetitions-extended', cell, measured: 4 });
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toMatch(CONTROL);
    }
    expect(lines[1]).toContain('s=a\\nb\\x1b[2J\\u202e');
    expect(lines[1]).toContain('exit 1\\n\\x1b[2Jdone');
  });

  it('the plan table shows params and image escaped', async () => {
    const cell = await hostileCell();
    expect(formatParams(cell.params)).toBe('s=a\\nb\\x1b[2J\\u202e');
    const table = planTable([cell]);
    expect(table).toContain('alp\\x1b[31mine');
    expect(table.replace(/\n/g, '')).not.toMatch(CONTROL);
  });
});

describe('compare --by param:<name> reads only the results’ own params', () => {
  it('param:constructor and param:tostring are unset, not Object.prototype’s', () => {
    const r = repetitionResult({ params: { threads: 4 } });
    expect(groupOf(r, 'param:constructor')).toBe('(unset)');
    expect(groupOf(r, 'param:tostring')).toBe('(unset)');
    expect(groupOf(r, 'param:threads')).toBe('4');
    const c = compare(
      [repetitionResult({ scores: [{ name: 's', value: 1, unit: 'x', direction: 'higher' }] })],
      { by: 'param:constructor' },
    );
    expect(c.groups).toEqual(['(unset)']);
  });
});
