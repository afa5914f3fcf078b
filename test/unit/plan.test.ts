import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CELLS, type MapCatalog } from '../../src/config/index.js';
import { InputError } from '../../src/core/index.js';
import { planMatrix } from '../../src/plan/index.js';
import { builtinCatalog, loadMatrixText, planText } from '../helpers/catalog.js';

let catalog: MapCatalog;
beforeAll(async () => {
  catalog = await builtinCatalog();
});

const plan = planText;

const MATRIX = `name: p
repetitions: 2
targets: [{ name: a, provider: local }, { name: b, provider: local }]
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2, 4], time: [5, 10] }
  - benchmark: fio
    targets: [b]
    repetitions: 5
    timeout: 30s
`;

describe('planMatrix', () => {
  it('expands the product of all axes on every target, in declaration order', async () => {
    const p = await plan(MATRIX);
    const cpu = p.cells.filter((c) => c.benchmark === 'sysbench-cpu');
    expect(cpu).toHaveLength(12); // 3 threads × 2 times × 2 targets
    expect(cpu.slice(0, 6).map((c) => `${c.target.name}:${c.params.threads}/${c.params.time}`)).toEqual([
      'a:1/5',
      'a:1/10',
      'a:2/5',
      'a:2/10',
      'a:4/5',
      'a:4/10',
    ]);
    expect(cpu[0]!.params).toEqual({ threads: 1, time: 5, max_prime: 10000 });
    expect(cpu[0]!.argv).toEqual([
      'sysbench',
      'cpu',
      '--threads=1',
      '--time=5',
      '--cpu-max-prime=10000',
      'run',
    ]);
  });

  it('honours per-entry targets, repetitions and timeout', async () => {
    const p = await plan(MATRIX);
    const fio = p.cells.filter((c) => c.benchmark === 'fio');
    expect(fio.map((c) => [c.target.name, c.repetitions, c.timeoutMs])).toEqual([['b', 5, 30_000]]);
    expect(p.repetitions).toBe(12 * 2 + 5);
    expect(p.cells.map((c) => c.index)).toEqual([...p.cells.keys()]);
  });

  it('gives cells stable ids: same matrix → same ids; a changed param → a new id', async () => {
    const [a, b] = [await plan(MATRIX), await plan(MATRIX)];
    expect(a.cells.map((c) => c.id)).toEqual(b.cells.map((c) => c.id));
    expect(new Set(a.cells.map((c) => c.id)).size).toBe(a.cells.length);
    expect(a.cells[0]!.id).toMatch(/^[0-9a-f]{12}$/);
    const changed = await plan(MATRIX.replace('[1, 2, 4]', '[1, 3, 4]'));
    expect(changed.cells[0]!.id).toBe(a.cells[0]!.id);
    expect(changed.cells[2]!.id).not.toBe(a.cells[2]!.id);
  });

  it('ignores repetition count and key order for the id', async () => {
    const a = await plan(MATRIX);
    const b = await plan(
      MATRIX.replace('repetitions: 2', 'repetitions: 7').replace(
        '{ threads: [1, 2, 4], time: [5, 10] }',
        '{ time: [5, 10], threads: [1, 2, 4] }',
      ),
    );
    expect(b.cells.map((c) => c.id)).toEqual(a.cells.map((c) => c.id));
  });
});

describe('planMatrix with hostile names and sizes', () => {
  it('a definition param named constructor gets its default (not Object.prototype.constructor)', async () => {
    const p = await plan(`name: p
targets: [{ name: a, provider: local }]
benchmarks:
  - benchmark:
      name: mine
      image: alpine
      command: [echo, "{{constructor}}", "{{x}}"]
      params:
        x: { type: integer, default: 1 }
        constructor: { type: integer, default: 7 }
`);
    expect(p.cells.map((c) => c.argv)).toEqual([['echo', '7', '1']]);
  });

  it('counts cells before expanding: a matrix built around validation is refused', async () => {
    const loaded = await loadMatrixText(MATRIX);
    const huge = {
      ...loaded,
      entries: [
        { ...loaded.entries[0]!, axes: { threads: range(1000), time: range(1000), max_prime: range(1000) } },
      ],
    };
    const start = performance.now();
    expect(() => planMatrix(huge, catalog)).toThrow(
      `the matrix expands to 2000000000 cells, above the limit of ${MAX_CELLS}`,
    );
    expect(() => planMatrix(huge, catalog)).toThrow(InputError);
    expect(performance.now() - start).toBeLessThan(100);
  });
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
