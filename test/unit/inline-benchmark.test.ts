import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/index.js';
import { planText } from '../helpers/catalog.js';

const HEAD = 'name: byo\ntargets: [{ name: here, provider: local }]\nbenchmarks:\n';

const plan = planText;

async function problems(text: string): Promise<string[]> {
  const err = await plan(text).catch((e: unknown) => e);
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
  return err.message.split('\n');
}

const INLINE = `${HEAD}  - benchmark:
      name: echo-speed
      image: benchyard/bench-tools:1
      command: ["sh", "-c", 'echo "speed: $PARAM_SIZE"']
      params: { size: { type: integer, default: 32, min: 1, max: 4096 } }
      timeout: 15m
      scores:
        - { name: speed, unit: x/s, direction: higher, regex: 'speed: ([0-9]+)' }
    params: { size: [8, 64] }
`;

describe('benchmarks defined inline in the matrix', () => {
  it('plan like built-ins: axes, timeout, and params passed as PARAM_* environment variables', async () => {
    const p = await plan(INLINE);
    expect(p.cells.map((c) => [c.benchmark, c.params.size, c.env.PARAM_SIZE, c.timeoutMs])).toEqual([
      ['echo-speed', 8, '8', 900_000],
      ['echo-speed', 64, '64', 900_000],
    ]);
    // Params that only reach the program through the environment still make distinct cells.
    expect(p.cells[0]!.id).not.toBe(p.cells[1]!.id);
    expect(p.cells[0]!.argv).toEqual(['sh', '-c', 'echo "speed: $PARAM_SIZE"']);
  });

  it('locates structural problems inside the inline definition, in the matrix file', async () => {
    const lines = await problems(`${HEAD}  - benchmark:
      name: bad
      image: benchyard/bench-tools:1
      command: ["run"]
      colour: blue
      scores:
        - { name: speed, unit: x/s, direction: higher, regex: '([0-9+' }
`);
    expect(lines).toEqual([
      "m.yaml:8:7: unknown key 'colour' (at benchmarks[0].benchmark.colour)",
      'm.yaml:10:63: not a valid regular expression (at benchmarks[0].benchmark.scores[0].regex)',
    ]);
  });

  it('then checks placeholders, defaults and the entry params against the inline definition', async () => {
    const lines = await problems(`${HEAD}  - benchmark:
      name: bad
      image: benchyard/bench-tools:1
      command: ["run", "--n={{n}}", "--m={{m}}"]
      params: { n: { type: integer, default: 0, min: 1, max: 10 } }
      scores: [{ name: speed, unit: x/s, direction: higher, regex: 'speed: ([0-9]+)' }]
    params: { n: 11, q: 1 }
`);
    expect(lines).toEqual([
      "m.yaml:7:37: placeholder '{{m}}' names no declared parameter (at benchmarks[0].benchmark.command[2])",
      "m.yaml:8:46: default of 'n': 0 is below the minimum 1 (at benchmarks[0].benchmark.params.n.default)",
      "m.yaml:10:18: parameter 'n': 11 is above the maximum 10 (at benchmarks[0].params.n)",
      "m.yaml:10:22: parameter 'q' is not declared by benchmark 'bad' (declared: n) (at benchmarks[0].params.q)",
    ]);
  });

  it('refuses a placeholder spliced into a shell script, and a name taken by a built-in', async () => {
    const lines = await problems(`${HEAD}  - benchmark:
      name: fio
      image: benchyard/bench-tools:1
      command: ["bash", "-c", "fio --bs={{bs}}"]
      params: { bs: { type: string, default: 4k } }
      scores: [{ name: iops, unit: IO/s, direction: higher, regex: 'iops=([0-9]+)' }]
`);
    expect(lines).toEqual([
      "m.yaml:5:13: inline benchmark 'fio' has the name of a built-in one; choose another (at benchmarks[0].benchmark.name)",
      `m.yaml:7:31: '{{bs}}' inside a shell script: params are never spliced into shell text; use "$PARAM_BS" (at benchmarks[0].benchmark.command[2])`,
    ]);
  });
});
