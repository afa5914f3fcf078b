/**
 * From measured sets to rates: every set (one order, every configuration measured n times)
 * yields trials (a configuration against the baseline), each judged by `compare()` exactly
 * as `benchyard compare` judges a cell; the rates come with 95 % Wilson score intervals
 * (Wilson 1927; Brown, Cai & DasGupta 2001 recommend it over the Wald interval for small n).
 */
import { compare } from '../../src/analysis/index.js';
import { repetitionResult } from '../helpers/results.js';

export type Order = 'blocked' | 'interleaved';

export interface Config {
  name: string;
  /** The nominal throughput loss against the baseline (0 for the baseline and its twin). */
  slowdownPct: number;
  /** Measured in a container with this `docker run --cpus`... */
  cpus?: number;
  /**
   * ...or derived: that configuration's measured values × (1 − slowdownPct / 100), a
   * difference known to be real, on this machine's real noise and drift.
   */
  scaled?: string;
}

/** One set: per configuration, its scores in the order they were measured. */
export interface MeasuredSet {
  order: Order;
  /** 1-minute load average when the set started. */
  load: number;
  values: Record<string, number[]>;
}

export interface Trial {
  order: Order;
  load: number;
  config: string;
  n: number;
  verdict: string;
  diffPct: number;
}

/** Trials of every contender against `baseline`: the whole set at n, and its halves at n/2 when n ≥ 10. */
export function trialsOf(set: MeasuredSet, baseline: string, contenders: readonly Config[]): Trial[] {
  const n = set.values[baseline]!.length;
  const slices: [number, number][] = [[0, n]];
  if (n >= 10) slices.push([0, Math.floor(n / 2)], [Math.floor(n / 2), 2 * Math.floor(n / 2)]);
  const valuesOf = (c: Config | string): number[] =>
    typeof c === 'string'
      ? set.values[c]!
      : c.scaled
        ? set.values[c.scaled]!.map((v) => v * (1 - c.slowdownPct / 100))
        : set.values[c.name]!;
  return contenders.flatMap((config) =>
    slices.map(([from, to]) => {
      const results = ([baseline, config] as const).flatMap((group) =>
        valuesOf(group)
          .slice(from, to)
          .map((value, i) =>
            repetitionResult({
              target: typeof group === 'string' ? group : group.name,
              repetition: i + 1,
              scores: [{ name: 'events_per_second', value, unit: 'events/s', direction: 'higher' }],
            }),
          ),
      );
      const g = compare(results, { by: 'target', baseline }).rows[0]!.groups[1]!;
      return {
        order: set.order,
        load: set.load,
        config: config.name,
        n: to - from,
        verdict: g.verdict ?? '',
        diffPct: g.diffPct ?? NaN,
      };
    }),
  );
}

/** 95 % Wilson score interval of k successes in n trials, in %. */
export function wilson(k: number, n: number, z = 1.959964): { low: number; high: number } {
  if (n === 0) return { low: NaN, high: NaN };
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { low: 100 * Math.max(0, centre - half), high: 100 * Math.min(1, centre + half) };
}

/** The table: per order, configuration and n, how often the verdict called it, with its interval. */
export function rateTable(trials: readonly Trial[], configs: readonly Config[]): string {
  const lines = [
    '| order | contender | injected | n per group | trials | called worse | rate (95 % Wilson) | called better | no verdict possible | median Δ % |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const orders = [...new Set(trials.map((t) => t.order))].sort();
  const sizes = [...new Set(trials.map((t) => t.n))].sort((a, b) => a - b);
  for (const order of orders)
    for (const n of sizes)
      for (const spec of configs) {
        const ts = trials.filter((t) => t.order === order && t.config === spec.name && t.n === n);
        if (ts.length === 0) continue;
        const worse = ts.filter((t) => t.verdict === 'worse').length;
        const better = ts.filter((t) => t.verdict === 'better').length;
        const undecidable = ts.filter((t) => t.verdict === 'too few repetitions').length;
        // Against its twin any call is a false alarm; against a slowed one, only `worse` is right.
        const twin = spec.slowdownPct === 0;
        const hits = twin ? worse + better : worse;
        const w = wilson(hits, ts.length);
        const deltas = ts.map((t) => t.diffPct).sort((a, b) => a - b);
        const injected = twin
          ? 'none (same config)'
          : spec.scaled
            ? `−${spec.slowdownPct} % (${spec.scaled}'s values × ${1 - spec.slowdownPct / 100})`
            : `−${spec.slowdownPct} % (--cpus ${spec.cpus})`;
        const rate = `${((100 * hits) / ts.length).toFixed(0)} % [${w.low.toFixed(0)}, ${w.high.toFixed(0)}]${twin ? ' false alarms' : ''}`;
        const median = deltas.length ? deltas[Math.floor(deltas.length / 2)]!.toFixed(2) : '';
        lines.push(
          `| ${order} | ${spec.name} | ${injected} | ${n} | ${ts.length} | ${worse} | ${rate} | ${better} | ${undecidable} | ${median} |`,
        );
      }
  return lines.join('\n');
}
