import { describe, expect, it } from 'vitest';
import { planText } from '../helpers/catalog.js';

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
