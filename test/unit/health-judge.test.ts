// Recorded nvidia-smi -q -x outputs: test/fixtures/nvidia-smi/SOURCE.md. Faulty-GPU variants
// and kernel log lines written by hand from the documented formats: test/fixtures/nvidia-smi-health/README.md
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy } from '../../src/core/index.js';
import { parseGpuHealthXml, parseGpuQueryLine } from '../../src/metrics/gpu/index.js';
import {
  judgeHealth,
  parseXidLines,
  samePciBus,
  ThrottleTally,
  type HealthObservation,
} from '../../src/metrics/index.js';
import { ROOT } from '../helpers/catalog.js';

const fixture = (dir: string, name: string) =>
  readFileSync(path.join(ROOT, 'test/fixtures', dir, name), 'utf8');
const T4 = 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a';
const t4Healthy = parseGpuHealthXml(fixture('nvidia-smi', 'tesla-t4.xml'));
const t4Faulty = parseGpuHealthXml(fixture('nvidia-smi-health', 'tesla-t4-dbe-retired.xml'));
const a10gHealthy = parseGpuHealthXml(fixture('nvidia-smi', 'a10g.xml'));
const a10gFaulty = parseGpuHealthXml(fixture('nvidia-smi-health', 'a10g-row-remapped.xml'));

/** `n` stream lines of the T4 (the `--query-gpu` CSV format of test/fixtures/nvidia-smi-csv) with this mask. */
function stream(masks: readonly string[]): ThrottleTally {
  const tally = new ThrottleTally();
  masks.forEach((mask, i) =>
    tally.add(
      parseGpuQueryLine(`${T4}, 0, Tesla T4, 97, 40, 1032, 15360, 69.80, 71, 1185, ${mask}`, i * 1000),
    ),
  );
  return tally;
}

const calm = { before: { gpus: t4Healthy }, after: { gpus: t4Healthy }, throttle: [] };
const judge = (o: Partial<HealthObservation>, p: Partial<HealthPolicy> = {}) =>
  judgeHealth({ ...calm, ...o }, { ...DEFAULT_HEALTH_POLICY, ...p });

describe('judgeHealth: the GPU stream', () => {
  it('a GPU power-capped in 4 of 10 samples is suspect, named by its index', () => {
    const masks = [
      ...Array<string>(4).fill('0x0000000000000004'),
      ...Array<string>(6).fill('0x0000000000000000'),
    ];
    expect(judge({ throttle: stream(masks).result() })).toEqual(['GPU 0 power-capped 40 % of the time']);
  });

  it('each slowdown reason on its own, with its share; idle and sync boost are no fault', () => {
    // 0x48 = HW slowdown + HW thermal; 0x1 idle; 0x10 sync boost
    const masks = ['0x48', '0x48', '0x40', '0x1', '0x10'].map((m) => `0x${m.slice(2).padStart(16, '0')}`);
    expect(judge({ throttle: stream(masks).result() })).toEqual([
      'GPU 0 in HW slowdown 40 % of the time',
      'GPU 0 thermally slowed (HW) 60 % of the time',
    ]);
  });

  it('at or under the threshold: healthy', () => {
    const masks = ['0x0000000000000004', ...Array<string>(9).fill('0x0000000000000000')];
    expect(judge({ throttle: stream(masks).result() })).toEqual([]);
    expect(judge({ throttle: stream(['0x0000000000000004']).result() }, { powerCappedShare: 1 })).toEqual([]);
  });

  it('a GPU the snapshots do not know is named by its uuid', () => {
    const throttle = stream(['0x0000000000000008']).result();
    expect(judge({ throttle, before: {}, after: {} })).toEqual([
      'GPU GPU-d37e67a5 in HW slowdown 100 % of the time',
    ]);
  });
});

describe('judgeHealth: before and after', () => {
  it('the T4 that retired a page: the page, its pending retirement, the uncorrectable errors', () => {
    expect(judge({ after: { gpus: t4Faulty } })).toEqual([
      'GPU 0: 1 new retired page (double-bit ECC)',
      'GPU 0: page retirement pending (applied at the next GPU reset)',
      'GPU 0: 2 new uncorrectable ECC errors',
    ]);
  });

  it('the A10G that remapped a row; correctable ECC errors only where a threshold is set', () => {
    const o = { before: { gpus: a10gHealthy }, after: { gpus: a10gFaulty } };
    expect(judge(o)).toEqual([
      'GPU 0: 1 new remapped row (uncorrectable error)',
      'GPU 0: row remapping pending (applied at the next GPU reset)',
    ]);
    expect(judge(o, { eccCorrectable: 5 })).toContain('GPU 0: 7 new correctable ECC errors');
    expect(judge(o, { eccCorrectable: 7 })).not.toContain('GPU 0: 7 new correctable ECC errors');
  });

  it('what was already there before is not the repetition’s; a counter reset is no change', () => {
    expect(judge({ before: { gpus: t4Faulty }, after: { gpus: t4Faulty } })).toEqual([]);
    expect(judge({ before: { gpus: t4Faulty }, after: { gpus: t4Healthy } })).toEqual([]);
  });

  it('no snapshot on either side: nothing judged', () => {
    expect(judge({ before: {}, after: { gpus: t4Faulty } })).toEqual([]);
  });

  it('XID errors: counted per code and GPU, application codes ignored by default', () => {
    const xids = parseXidLines(fixture('nvidia-smi-health', 'kmsg-xid.txt'));
    expect(judge({ xids })).toEqual(['GPU 0: 2 new XID 79 errors']);
    expect(judge({ xids }, { xidIgnore: [] })).toEqual([
      'GPU 0: 2 new XID 79 errors',
      'GPU 0: 1 new XID 13 error',
    ]);
    expect(judge({ xids }, { xid: 2 })).toEqual([]);
    expect(judge({ xids, before: {}, after: {} })).toEqual(['2 new XID 79 errors']);
  });

  it('CPU thermal throttling events, packages and cores each', () => {
    const before = { gpus: t4Healthy, cpu: { package: 100, core: 40 } };
    expect(judge({ before, after: { gpus: t4Healthy, cpu: { package: 112, core: 41 } } })).toEqual([
      'CPU package throttled (thermal) 12 times',
      'CPU cores throttled (thermal) once',
    ]);
    expect(judge({ before, after: { cpu: { package: 112, core: 41 } } }, { cpuThrottle: 20 })).toEqual([]);
  });

  it('health: false judges nothing', () => {
    expect(judge({ after: { gpus: t4Faulty } }, { enabled: false })).toEqual([]);
  });
});

describe('judgeHealth: thresholds (the matrix’s, so any value)', () => {
  const observation = (masks: readonly number[], extraPages: number): HealthObservation => ({
    before: { gpus: t4Healthy },
    after: {
      gpus: t4Healthy.map((g) => ({ ...g, retiredPages: { ...g.retiredPages, singleBit: extraPages } })),
    },
    throttle: stream(masks.map((m) => `0x${m.toString(16).padStart(16, '0')}`)).result(),
  });

  it('raising a threshold never adds a reason', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0x1ff }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 5 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 5 }),
        (masks, pages, a, b, tolerated) => {
          const o = observation(masks, pages);
          const [low, high] = a <= b ? [a, b] : [b, a];
          const strict = judgeHealth(o, {
            ...DEFAULT_HEALTH_POLICY,
            throttledShare: low,
            powerCappedShare: low,
            retiredPages: tolerated,
          });
          const lax = judgeHealth(o, {
            ...DEFAULT_HEALTH_POLICY,
            throttledShare: high,
            powerCappedShare: high,
            retiredPages: tolerated + 1,
          });
          expect(lax.every((r) => strict.includes(r))).toBe(true);
        },
      ),
    );
  });
});

describe('samePciBus', () => {
  it("nvidia-smi's 8-digit domain with a function and the kernel log's short form", () => {
    expect(samePciBus('00000000:3B:00.0', '0000:3b:00')).toBe(true);
    expect(samePciBus('00000000:3B:00.0', '0000:3c:00')).toBe(false);
    expect(samePciBus('garbage', '0000:3b:00')).toBe(false);
  });
});
