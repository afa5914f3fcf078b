/**
 * The energy a machine drew during one repetition, measured and never estimated: the
 * difference of cumulative counters read when the repetition starts and ends (RAPL, through
 * the host collector), and each GPU's power samples integrated over the repetition.
 *
 * Machine-wide: repetitions that run at once on one machine each see all of it.
 *
 * `joules` is the sum of the sources, which do not overlap: each GPU (board power), each CPU
 * package and each DRAM domain (rapl.ts says why a package's `core`/`uncore` parts and
 * `psys` are left out). Where nothing was readable there is no `energy`, and
 * `energyMissing` says what was seen; a source missing beside others is said there too.
 *
 * GPU power samples (`gpu.power.draw.watts`, one per GPU per interval, stamped when
 * received) are joined by straight lines (the trapezoid rule) and the area is cut at the
 * repetition's start and end: exact for power that changes linearly between samples. The
 * segment that crosses the start is interpolated from the sample before it; after the last
 * sample, and before the first where none came earlier, the nearest sample's power is held
 * (at most `maxGapMs`). Samples further apart than `maxGapMs` (a restarted nvidia-smi) give
 * that GPU no energy, said in `energyMissing`: a hole is not filled by a guess.
 */
import type { EnergySummary, MetricsSummary } from '../core/index.js';

/** What a source adds to: `cpuJoules`, `dramJoules` or `gpuJoules`. */
export type EnergyKind = 'cpu' | 'dram' | 'gpu';

/** Cumulative energy counters of a machine (RAPL), read when a repetition starts and ends. */
export interface EnergyCounters {
  /** Joules by source since the counters were first read, wrap-arounds included; `at` = now. */
  readEnergy(at: number): Promise<EnergyReading>;
}

export interface EnergyReading {
  at: number;
  /** Sources that can be summed (they do not overlap), e.g. `rapl:package-0` (cpu), `rapl:dram-0` (dram). */
  sources: ReadonlyMap<string, { kind: EnergyKind; joules: number }>;
  /** Why some or all sources gave nothing. */
  missing?: string;
}

export function isEnergyCounters<T extends object>(c: T): c is T & EnergyCounters {
  return typeof (c as Partial<EnergyCounters>).readEnergy === 'function';
}

/** One power sample of one device: when (ms since the epoch) and watts. */
export interface PowerPoint {
  t: number;
  watts: number;
}

export type PowerIntegral = { joules: number } | { missing: string };

const NO_SAMPLES = 'no power.draw samples during the repetition';

/** Samples kept to cut the area at an end that later samples have passed already. */
const HISTORY = 8;

/**
 * One device's power samples integrated from `start` on, fed one at a time in memory
 * independent of the repetition's length; `finish(end)` cuts the area at `end`.
 */
export class PowerIntegrator {
  /** The latest samples with the joules from `start` to each. */
  private recent: Array<PowerPoint & { joules: number }> = [];
  private dropped = false;
  private longestGapMs = 0;

  /** @param maxGapMs the longest stretch of the repetition one sample may stand for. @default Infinity */
  constructor(
    readonly start: number,
    private readonly maxGapMs = Infinity,
  ) {}

  add(p: PowerPoint): void {
    const last = this.recent.at(-1);
    if (!Number.isFinite(p.t) || !Number.isFinite(p.watts) || (last && p.t <= last.t)) return;
    if (p.t <= this.start) {
      this.recent = [{ ...p, joules: 0 }]; // only the latest sample before the start matters
      return;
    }
    let joules: number;
    if (last) {
      joules = last.joules + area(last, p, Math.max(last.t, this.start), p.t);
      this.longestGapMs = Math.max(this.longestGapMs, p.t - last.t);
    } else {
      joules = (p.watts * (p.t - this.start)) / 1000; // nothing earlier: the first sample held back to the start
      this.longestGapMs = Math.max(this.longestGapMs, p.t - this.start);
    }
    this.recent.push({ ...p, joules });
    if (this.recent.length > HISTORY) {
      this.recent.shift();
      this.dropped = true;
    }
  }

  /** The joules from `start` to `end`, or why there are none. */
  finish(end: number): PowerIntegral {
    if (end <= this.start) return { joules: 0 };
    if (this.recent.length === 0) return { missing: NO_SAMPLES };
    const i = this.recent.findLastIndex((r) => r.t <= end);
    const base = this.recent[i];
    const next = this.recent[i + 1];
    let joules: number;
    let gap: number;
    if (base && next) {
      joules = base.joules + area(base, next, Math.max(base.t, this.start), end);
      gap = next.t - base.t;
    } else if (base) {
      joules = base.joules + (base.watts * (end - Math.max(base.t, this.start))) / 1000;
      gap = end - base.t;
    } else {
      if (this.dropped) return { missing: 'power samples stamped after the repetition ended' };
      const first = this.recent[0]!; // after `end`, nothing before `start`: held back over the repetition
      joules = (first.watts * (end - this.start)) / 1000;
      gap = first.t - this.start;
    }
    const longest = Math.max(this.longestGapMs, gap);
    if (longest > this.maxGapMs)
      return { missing: `power samples ${(longest / 1000).toFixed(1)} s apart during the repetition` };
    return { joules };
  }
}

/** The joules of `points` (in time order) over [start, end]; see `PowerIntegrator`. */
export function integratePower(
  points: Iterable<PowerPoint>,
  start: number,
  end: number,
  maxGapMs = Infinity,
): PowerIntegral {
  const integrator = new PowerIntegrator(start, maxGapMs);
  for (const p of points) {
    integrator.add(p);
    if (p.t > end) break; // the first sample past the end closes the last segment
  }
  return integrator.finish(end);
}

/** The area under the straight line from `a` to `b` between `from` and `to` (inside [a.t, b.t]), in joules. */
function area(a: PowerPoint, b: PowerPoint, from: number, to: number): number {
  const at = (t: number) => a.watts + ((b.watts - a.watts) * (t - a.t)) / (b.t - a.t);
  return ((to - from) * (at(from) + at(to))) / 2 / 1000;
}

/**
 * One watched repetition's energy: the counters read at its start (at once, in the
 * background) and end, and an integrator per GPU fed by the monitor.
 */
export class RepetitionEnergy {
  private readonly gpus = new Map<string, PowerIntegrator>();
  private readonly counterStart: Promise<EnergyReading[]>;

  /** @param before each GPU's latest power sample before `start` */
  constructor(
    readonly start: number,
    private readonly counters: readonly EnergyCounters[],
    before: ReadonlyMap<string, PowerPoint>,
    private readonly maxGapMs: number,
  ) {
    this.counterStart = readCounters(counters, start);
    for (const [device, p] of before) this.power(device, p);
  }

  /** A power sample of `device`. */
  power(device: string, p: PowerPoint): void {
    let integrator = this.gpus.get(device);
    if (!integrator) this.gpus.set(device, (integrator = new PowerIntegrator(this.start, this.maxGapMs)));
    integrator.add(p);
  }

  /** The summary's energy fields; `gpus`: every GPU seen on the machine, `gpuSource`: whether any GPU source runs. */
  async finish(
    end: number,
    gpus: Iterable<string>,
    gpuSource: boolean,
  ): Promise<Pick<MetricsSummary, 'energy' | 'energyMissing'>> {
    // At once: samples keep coming while the counters are read.
    const integrals = new Map<string, PowerIntegral>();
    for (const device of gpus)
      integrals.set(device, this.gpus.get(device)?.finish(end) ?? { missing: NO_SAMPLES });
    const [start, stop] = await Promise.all([this.counterStart, readCounters(this.counters, end)]);
    return energySummary({
      ...(this.counters.length > 0 ? { counters: { start, end: stop } } : {}),
      gpus: integrals,
      gpuSource,
    });
  }
}

function readCounters(counters: readonly EnergyCounters[], at: number): Promise<EnergyReading[]> {
  return Promise.all(
    counters.map((c) =>
      c.readEnergy(at).catch((err: unknown): EnergyReading => ({
        at,
        sources: new Map(),
        missing: `energy counters: ${String(err)}`,
      })),
    ),
  );
}

export interface EnergyParts {
  /** The counters read at the start and at the end, one reading per counter in the same order; absent where none runs. */
  counters?: { start: readonly EnergyReading[]; end: readonly EnergyReading[] };
  /** Every GPU seen on the machine: its joules over the repetition, or why none. */
  gpus: ReadonlyMap<string, PowerIntegral>;
  /** Whether a GPU source (nvidia-smi) runs on the machine. */
  gpuSource: boolean;
}

/** A repetition's `energy` and `energyMissing`; neither where no energy source runs at all. */
export function energySummary(parts: EnergyParts): Pick<MetricsSummary, 'energy' | 'energyMissing'> {
  if (!parts.counters && !parts.gpuSource) return {};
  const sources: Record<string, number> = {};
  const kinds: Partial<Record<EnergyKind, number>> = {};
  const missing: string[] = [];
  const add = (key: string, kind: EnergyKind, joules: number) => {
    sources[key] = round(joules);
    kinds[kind] = (kinds[kind] ?? 0) + joules;
  };
  parts.counters?.end.forEach((end, i) => {
    const start = parts.counters!.start[i];
    for (const [key, e] of end.sources) {
      const before = start?.sources.get(key);
      if (before) add(key, e.kind, e.joules - before.joules);
    }
    for (const m of new Set([start?.missing, end.missing])) if (m) missing.push(m);
  });
  for (const [device, r] of parts.gpus)
    if ('joules' in r) add(`gpu:${device}`, 'gpu', r.joules);
    else missing.push(`GPU ${device}: ${r.missing}`);

  const keys = Object.keys(sources);
  const energy: EnergySummary | undefined = keys.length
    ? {
        joules: round(Object.values(kinds).reduce((a, b) => a + b, 0)),
        ...(kinds.gpu !== undefined ? { gpuJoules: round(kinds.gpu) } : {}),
        ...(kinds.cpu !== undefined ? { cpuJoules: round(kinds.cpu) } : {}),
        ...(kinds.dram !== undefined ? { dramJoules: round(kinds.dram) } : {}),
        sources,
      }
    : undefined;
  if (!energy) {
    if (!parts.counters) missing.push('RAPL not read (host metrics off)');
    if (!parts.gpuSource) missing.push('GPUs not read (GPU metrics off)');
    else if (parts.gpus.size === 0) missing.push('no GPU');
  }
  return { ...(energy ? { energy } : {}), ...(missing.length ? { energyMissing: missing.join('; ') } : {}) };
}

/** Millijoules are far below what any source resolves. */
function round(joules: number): number {
  return Math.round(joules * 1000) / 1000;
}
