/**
 * Whether a repetition ran on healthy hardware (pure). What it looks at: the GPU clock
 * event reasons in the samples taken while it ran (the share of each GPU's samples with a
 * power cap, a thermal or a hardware slowdown), and what changed between a snapshot before
 * and one after it — retired pages, remapped rows, volatile ECC counts, XID errors in the
 * kernel log, CPU thermal throttling events. Each finding past the matrix's `health:`
 * thresholds is one reason, worded for a person (`GPU 0 power-capped 38 % of the time`).
 *
 * Only changes count: a counter that went down (a driver reload resets the volatile ones)
 * or is missing on either side says nothing. What a machine already had before the run
 * is `doctor`'s to say.
 */
import type { HealthPolicy } from '../core/index.js';
import type { CpuThrottleCounts } from './cpu-throttle.js';
import type { GpuHealth } from './gpu/health-snapshot.js';
import { GPU_THROTTLE_REASONS } from './gpu/query.js';
import type { XidEvent } from './kernel-log.js';
import type { Reading } from './reading.js';

export interface HealthSnapshot {
  /** Absent: not known (no GPU, no nvidia-smi, or its output unreadable). */
  gpus?: readonly GpuHealth[];
  cpu?: CpuThrottleCounts;
}

/** One GPU's clock event reasons over a repetition: samples, and samples with each reason. */
export interface GpuThrottleTally {
  /** The GPU's uuid (the samples' device). */
  device: string;
  samples: number;
  reasons: Readonly<Record<string, number>>;
}

export interface HealthObservation {
  before: HealthSnapshot;
  after: HealthSnapshot;
  throttle: readonly GpuThrottleTally[];
  /** XID errors logged while the repetition ran; absent: the log was not readable. */
  xids?: readonly XidEvent[];
}

/** The reasons judged, how each is said, and which share threshold applies. */
const JUDGED: readonly { reason: string; says: string; share: 'powerCappedShare' | 'throttledShare' }[] = [
  { reason: 'sw_power_cap', says: 'power-capped', share: 'powerCappedShare' },
  { reason: 'hw_slowdown', says: 'in HW slowdown', share: 'throttledShare' },
  { reason: 'hw_thermal_slowdown', says: 'thermally slowed (HW)', share: 'throttledShare' },
  { reason: 'sw_thermal_slowdown', says: 'thermally slowed (SW)', share: 'throttledShare' },
  { reason: 'hw_power_brake_slowdown', says: 'power-braked (HW)', share: 'throttledShare' },
];

/** Counts clock event reasons from `gpu.throttle.active` readings (the stream's bitmask). */
export class ThrottleTally {
  private readonly gpus = new Map<string, { samples: number; reasons: Record<string, number> }>();

  add(readings: readonly Reading[]): void {
    for (const r of readings) {
      if (r.scope !== 'gpu' || r.name !== 'gpu.throttle.active' || r.device === undefined) continue;
      if (!Number.isFinite(r.value)) continue;
      const gpu = this.gpus.get(r.device) ?? { samples: 0, reasons: {} };
      this.gpus.set(r.device, gpu);
      gpu.samples++;
      const mask = BigInt(Math.trunc(r.value));
      for (const [reason, bit] of GPU_THROTTLE_REASONS)
        if ((mask & BigInt(bit)) !== 0n) gpu.reasons[reason] = (gpu.reasons[reason] ?? 0) + 1;
    }
  }

  result(): GpuThrottleTally[] {
    return [...this.gpus].map(([device, g]) => ({ device, samples: g.samples, reasons: { ...g.reasons } }));
  }
}

/** The reasons a repetition is suspect; none: healthy as far as anything could tell. */
export function judgeHealth(o: HealthObservation, policy: HealthPolicy): string[] {
  if (!policy.enabled) return [];
  const known = o.after.gpus ?? o.before.gpus ?? [];
  const label = (uuid: string) => {
    const gpu = known.find((g) => g.uuid === uuid);
    return gpu ? `GPU ${gpu.index}` : `GPU ${uuid.slice(0, 12)}`;
  };
  const reasons: string[] = [];
  for (const t of o.throttle) {
    if (t.samples === 0) continue;
    for (const j of JUDGED) {
      const share = (t.reasons[j.reason] ?? 0) / t.samples;
      if (share > policy[j.share])
        reasons.push(`${label(t.device)} ${j.says} ${Math.round(share * 100)} % of the time`);
    }
  }
  for (const after of o.after.gpus ?? []) {
    const before = o.before.gpus?.find((g) => g.uuid === after.uuid);
    if (before) reasons.push(...gpuCounters(label(after.uuid), before, after, policy));
  }
  reasons.push(...xidReasons(o.xids ?? [], known, policy));
  reasons.push(...cpuReasons(o.before.cpu, o.after.cpu, policy));
  return reasons;
}

/**
 * What is wrong with the GPUs now, whatever happened before (`doctor`, before a run): a
 * retirement or remapping waiting for a reset, a failed remapping, a slowdown active, and
 * uncorrectable ECC errors since the driver loaded.
 */
export function gpuProblemsNow(gpus: readonly GpuHealth[]): string[] {
  return gpus.flatMap((g) => {
    const gpu = `GPU ${g.index}`;
    const out: string[] = [];
    if (g.retiredPages.pending) out.push(`${gpu}: page retirement pending (applied at the next GPU reset)`);
    if (g.remappedRows.pending) out.push(`${gpu}: row remapping pending (applied at the next GPU reset)`);
    if (g.remappedRows.failure) out.push(`${gpu}: row remapping failed (the GPU needs service)`);
    for (const j of JUDGED) if (g.activeReasons.includes(j.reason)) out.push(`${gpu} ${j.says} now`);
    const unc = g.ecc.uncorrectable ?? 0;
    if (unc > 0) out.push(`${gpu}: ${plural(unc, 'uncorrectable ECC error')} since the driver loaded`);
    return out;
  });
}

function gpuCounters(gpu: string, before: GpuHealth, after: GpuHealth, p: HealthPolicy): string[] {
  const out: string[] = [];
  const sbe = grew(before.retiredPages.singleBit, after.retiredPages.singleBit);
  const dbe = grew(before.retiredPages.doubleBit, after.retiredPages.doubleBit);
  if (sbe + dbe > p.retiredPages) {
    if (dbe > 0) out.push(`${gpu}: ${plural(dbe, 'new retired page')} (double-bit ECC)`);
    if (sbe > 0) out.push(`${gpu}: ${plural(sbe, 'new retired page')} (single-bit ECC)`);
  }
  if (after.retiredPages.pending && before.retiredPages.pending === false)
    out.push(`${gpu}: page retirement pending (applied at the next GPU reset)`);
  const corr = grew(before.remappedRows.correctable, after.remappedRows.correctable);
  const unc = grew(before.remappedRows.uncorrectable, after.remappedRows.uncorrectable);
  if (corr + unc > p.remappedRows) {
    if (unc > 0) out.push(`${gpu}: ${plural(unc, 'new remapped row')} (uncorrectable error)`);
    if (corr > 0) out.push(`${gpu}: ${plural(corr, 'new remapped row')} (correctable error)`);
  }
  if (after.remappedRows.pending && before.remappedRows.pending === false)
    out.push(`${gpu}: row remapping pending (applied at the next GPU reset)`);
  if (after.remappedRows.failure && before.remappedRows.failure === false)
    out.push(`${gpu}: row remapping failed`);
  const eccUnc = grew(before.ecc.uncorrectable, after.ecc.uncorrectable);
  if (eccUnc > p.eccUncorrectable) out.push(`${gpu}: ${plural(eccUnc, 'new uncorrectable ECC error')}`);
  const eccCorr = grew(before.ecc.correctable, after.ecc.correctable);
  if (p.eccCorrectable !== undefined && eccCorr > p.eccCorrectable)
    out.push(`${gpu}: ${plural(eccCorr, 'new correctable ECC error')}`);
  return out;
}

function xidReasons(xids: readonly XidEvent[], gpus: readonly GpuHealth[], p: HealthPolicy): string[] {
  const counted = xids.filter((x) => !p.xidIgnore.includes(x.code));
  if (counted.length <= p.xid) return [];
  const groups = new Map<string, { gpu: string | undefined; code: number; n: number }>();
  for (const x of counted) {
    const gpu = gpus.find((g) => samePciBus(g.pciBusId, x.pciBusId));
    const key = `${gpu?.index ?? x.pciBusId}/${x.code}`;
    const group = groups.get(key) ?? { gpu: gpu ? `GPU ${gpu.index}` : undefined, code: x.code, n: 0 };
    groups.set(key, group);
    group.n++;
  }
  return [...groups.values()].map(
    (g) => `${g.gpu ? `${g.gpu}: ` : ''}${g.n} new XID ${g.code} error${g.n === 1 ? '' : 's'}`,
  );
}

function cpuReasons(
  before: CpuThrottleCounts | undefined,
  after: CpuThrottleCounts | undefined,
  p: HealthPolicy,
): string[] {
  const out: string[] = [];
  const pkg = grew(before?.package, after?.package);
  if (pkg > p.cpuThrottle) out.push(`CPU package throttled (thermal) ${times(pkg)}`);
  const core = grew(before?.core, after?.core);
  if (core > p.cpuThrottle) out.push(`CPU cores throttled (thermal) ${times(core)}`);
  return out;
}

/** How much a counter grew; 0 where either side is unknown or it went down (a reset). */
function grew(before: number | undefined, after: number | undefined): number {
  return before === undefined || after === undefined || after < before ? 0 : after - before;
}

/**
 * Whether nvidia-smi's bus id (`00000000:3B:00.0`) and the kernel log's (`0000:3b:00`)
 * name the same GPU: domain, bus and device compared as numbers.
 */
export function samePciBus(a: string, b: string): boolean {
  const parts = (id: string) =>
    id
      .replace(/\.[0-9a-f]+$/i, '')
      .split(':')
      .map((p) => parseInt(p, 16));
  const [x, y] = [parts(a), parts(b)];
  return x.length === 3 && y.length === 3 && x.every((v, i) => v === y[i] && Number.isFinite(v));
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`;
}
