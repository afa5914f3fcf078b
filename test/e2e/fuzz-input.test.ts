/**
 * Fuzzing the input side (issue 15): mutated matrices and benchmark definitions through
 * `plan`, `plan --json`, `benchmark validate` and `benchmark list --matrix`. Seeded and
 * bounded here; `npm run fuzz` runs many more (test/fuzz/run.ts).
 */
import fc from 'fast-check';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { caseArb } from '../fuzz/arbitraries.js';
import {
  materialize,
  prepareSeeds,
  runInProcess,
  runProcess,
  violations,
  type FuzzCase,
} from '../fuzz/harness.js';

const seeds = prepareSeeds();
afterAll(() => rmSync(seeds.dir, { recursive: true, force: true }));

const fuzzCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    kind: fc.constantFrom<FuzzCase['kind']>('matrix', 'matrix', 'definition'),
    command: fc.nat(3),
    body: caseArb(100),
  })
  .map(({ kind, command, body }) => ({ kind, command, seed: body.seed, ops: body.ops }));

describe('fuzzed matrices and benchmark definitions: exit 0 or 2, never a stack, bounded', () => {
  it('in this process: 800 cases', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        const argv = materialize(seeds, c);
        const outcome = await runInProcess(argv);
        expect(violations(outcome, { json: argv.includes('--json') }), outcome.stderr).toEqual([]);
      }),
      { seed: 15, numRuns: 800 },
    );
  }, 120_000);

  it('as processes: 8 cases, each under 2 s of CPU and 256 MiB', async () => {
    const cases = fc.sample(fuzzCase, { numRuns: 8, seed: 1015 });
    for (const c of cases) {
      const argv = materialize(seeds, c);
      const outcome = await runProcess(argv);
      expect(outcome.cpuMs, 'the process wrote its usage').toBeDefined();
      expect(violations(outcome, { json: argv.includes('--json') }), JSON.stringify(c)).toEqual([]);
    }
  }, 120_000);
});
