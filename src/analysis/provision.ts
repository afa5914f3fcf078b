/**
 * How long machines took to become usable, compared like scores. Each machine with a
 * provisioning timeline becomes one pseudo-repetition of a benchmark `provision` whose
 * scores are `provision.<step>` (seconds from the request, lower is better), grouped along
 * the same machine-level axes and judged by the same rank procedure (`compare`): medians,
 * Hodges-Lehmann differences with their intervals, verdicts. Its rows join a comparison of
 * the results, outside the geomean: the time to boot is not a benchmark's score.
 */
import {
  PROVISION_STEPS,
  type MachineRecord,
  type ProvisionStep,
  type RepetitionResult,
  type Score,
} from '../core/index.js';
import { compare } from './compare.js';
import type { Comparison, GroupStats } from './comparison.js';
import { summarize } from './describe.js';
import { AXES, groupOf, machineKey, type Axis } from './groups.js';

/** The benchmark name of the pseudo-results, and the prefix of their scores. */
export const PROVISION_BENCHMARK = 'provision';

/** The axes machines can be told apart along (not images or params: a machine runs many). */
export const PROVISION_AXES: readonly Axis[] = AXES.filter((a) => a !== 'image');

/** The primary score of the `provision` family: the machine is useful from then on. */
const PRIMARY: ProvisionStep = 'firstRepetition';

/** One pseudo-result per machine with a timeline: a score per step reached after the request. */
export function provisionResults(machines: readonly MachineRecord[]): RepetitionResult[] {
  const perRun = new Map<string, number>();
  return machines.flatMap((m) => {
    const scores: Score[] = PROVISION_STEPS.filter((s) => s !== 'requested')
      .filter((s) => Number.isFinite(m.provision?.[s]))
      .map((s) => ({
        name: `${PROVISION_BENCHMARK}.${s}`,
        value: m.provision![s]! / 1000,
        unit: 's',
        direction: 'lower',
      }));
    if (scores.length === 0) return [];
    const repetition = (perRun.get(m.runId) ?? 0) + 1;
    perRun.set(m.runId, repetition);
    return [
      {
        runId: m.runId,
        cellId: PROVISION_BENCHMARK,
        repetition,
        benchmark: PROVISION_BENCHMARK,
        benchmarkVersion: 1,
        params: {},
        target: m.target,
        provider: m.provider,
        machineId: m.machineId,
        instanceType: m.instanceType,
        ...(m.region ? { region: m.region } : {}),
        ...(m.zone ? { zone: m.zone } : {}),
        fingerprint: m.fingerprint,
        image: '',
        imageDigest: '',
        status: 'passed',
        warmup: false,
        scores,
        startedAt: m.collectedAt,
        finishedAt: m.collectedAt,
        durationMs: 0,
        metrics: { samples: 0 },
        artifacts: [],
      },
    ];
  });
}

/**
 * `c` with rows for the machines' `provision.*` figures, along its axis and against its
 * baseline (its groups, in its order; a group without timelines has n = 0). An axis
 * machines cannot be grouped along is a RangeError.
 */
export function withProvision(c: Comparison, machines: readonly MachineRecord[]): Comparison {
  if (!PROVISION_AXES.includes(c.axis))
    throw new RangeError(
      `provisioning times belong to machines: compare them --by ${PROVISION_AXES.join(', ')} (not ${c.axis})`,
    );
  const pseudo = provisionResults(machines);
  const opts = { by: c.axis, machines, alpha: c.alpha, primary: `${PROVISION_BENCHMARK}.${PRIMARY}` };
  const note = (w: string): Comparison => ({ ...c, warnings: [...c.warnings, w] });
  if (pseudo.length === 0) return note('no machine of these runs recorded a provisioning timeline');
  const byKey = new Map(machines.map((m) => [machineKey(m), m]));
  const hasBaseline = pseudo.some((r) => groupOf(r, c.axis, byKey) === c.baseline);
  // No result to compare (none passed): the machines alone.
  if (c.rows.length === 0) {
    const alone = compare(pseudo, { ...opts, ...(hasBaseline ? { baseline: c.baseline } : {}) });
    return { ...alone, geomean: [], warnings: [...c.warnings, ...alone.warnings] };
  }
  if (!hasBaseline)
    return note(
      `no machine of the baseline '${c.baseline}' recorded a provisioning timeline: provision.* not compared`,
    );
  const p = compare(pseudo, { ...opts, baseline: c.baseline });
  const missing = p.groups.filter((g) => !c.groups.includes(g));
  const rows = p.rows.map((row) => ({
    ...row,
    groups: c.groups.map((g) => row.groups.find((x) => x.group === g) ?? noValues(g)),
  }));
  const warnings = [
    ...(missing.length > 0
      ? [`provisioning times of ${missing.join(', ')} left out: no passed result in that group`]
      : []),
    ...p.warnings.filter((w) => !c.warnings.includes(w)),
  ];
  return {
    ...c,
    rows: [...c.rows, ...rows],
    families: [...c.families, ...p.families],
    warnings: [...c.warnings, ...warnings],
  };
}

function noValues(group: string): GroupStats {
  return { group, ...summarize([]), values: [] };
}
