/**
 * Terminal tables for plans, run summaries and result listings, fitted to a width
 * (`fit.ts`; `undefined`: every column as wide as its text).
 */
import type { MatrixCell, RepetitionResult, RunRecord } from '../core/index.js';
import { formatDuration } from '../core/index.js';
import { fitTable } from './fit.js';
import { formatNumber, formatParams, type CellSummary } from './summary.js';
import { escapeControl, escapeControlKeepLines } from './terminal-text.js';

/** A plain table (no colours: output often goes to a pipe or a CI log). */
export function dataTable(
  head: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  width?: number,
): string {
  return fitTable(
    head,
    rows.map((r) => r.map(String)),
    { width },
  );
}

export function planTable(cells: readonly MatrixCell[], width?: number): string {
  const access = cells.some((c) => formatRequires(c.requires) !== '');
  const head = [
    '#',
    'cell',
    'target',
    'benchmark',
    'reps',
    'timeout',
    'image',
    ...(access ? ['requires'] : []),
  ];
  return dataTable(
    head,
    cells.map((c) => [
      c.index + 1,
      c.id,
      c.target.name,
      benchmarkText(c.benchmark, c.params),
      c.repetitions,
      formatDuration(c.timeoutMs),
      escapeControl(c.image),
      ...(access ? [escapeControl(formatRequires(c.requires))] : []),
    ]),
    width,
  );
}

/** `1 GPU /T4/i, /dev/xdma0_user, PRIVILEGED`: what a cell's container gets from its machine. */
export function formatRequires(r: MatrixCell['requires']): string {
  const gpu = r.gpu
    ? `${r.gpu.ids ? `GPU ${r.gpu.ids.join(',')}` : `${r.gpu.count} GPU`}${r.gpu.model ? ` /${r.gpu.model}/i` : ''}${r.gpu.pci ? ` pci ${r.gpu.pci.join('|')}` : ''}${r.gpu.driver ? ` driver ${r.gpu.driver}` : ''}`
    : '';
  const fpga = r.fpga ? `${r.fpga.vendor ?? ''} FPGA`.trim() : '';
  const devices = [...(r.fpga?.devices ?? []), ...r.devices].map((d) =>
    d.container === d.host ? d.host : `${d.host}→${d.container}`,
  );
  return [
    gpu,
    fpga,
    ...devices,
    ...r.deviceCgroupRules.map((x) => `cgroup '${x}'`),
    r.privileged ? 'PRIVILEGED' : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export function summaryTable(summaries: readonly CellSummary[], width?: number): string {
  return dataTable(
    ['cell', 'target', 'benchmark', 'passed', 'median scores'],
    summaries.map((s) => [
      s.cellId,
      s.target,
      benchmarkText(s.benchmark, s.params),
      `${s.passed}/${s.total}${s.suspect ? ` (${s.suspect} suspect)` : ''}`,
      s.scores
        .map(
          (x) =>
            `${x.name} ${formatNumber(x.median)} ${x.unit} ${x.direction === 'higher' ? '↑' : '↓'}${
              x.control
                ? ` (collectors off: ${formatNumber(x.control.median)}, ${x.control.diffPct >= 0 ? '+' : ''}${x.control.diffPct.toFixed(2)}%)`
                : ''
            }`,
        )
        .join('\n') ||
        escapeControlKeepLines(s.failures[0]?.slice(0, 160) ?? '') ||
        '',
    ]),
    width,
  );
}

/**
 * A run's repetitions, one row each, with the machine that ran it (`target/host`).
 * `hosts`: machine id → host name, from the run's machine records; an id not in it is shown as is.
 */
export function resultsTable(
  results: readonly RepetitionResult[],
  width?: number,
  hosts: ReadonlyMap<string, string> = new Map(),
): string {
  return dataTable(
    ['cell', 'rep', 'machine', 'benchmark', 'status', 'scores / reason', 'duration'],
    results.map((r) => [
      r.cellId,
      r.repetition,
      machineLabel(r.target, hosts.get(r.machineId) ?? r.machineId),
      benchmarkText(r.benchmark, r.params),
      `${r.status === 'passed' ? 'passed' : `failed (${r.failureClass})`}${r.warmup ? ' warmup' : ''}${r.control ? ' control' : ''}${r.suspect?.length ? ' SUSPECT' : ''}`,
      [
        r.status === 'passed'
          ? r.scores.map((s) => `${s.name} ${formatNumber(s.value)} ${s.unit}`).join('\n')
          : escapeControlKeepLines((r.failureReason ?? '').slice(0, 200)),
        // Why its hardware was not healthy: left out of statistics unless --include-suspect.
        ...(r.suspect ?? []).map((why) => `suspect: ${escapeControl(why)}`),
      ].join('\n'),
      formatDuration(r.durationMs),
    ]),
    width,
  );
}

/**
 * `sysbench-cpu threads=1 time=3`: a benchmark with its params in one column (as progress
 * lines say it), so the params wrap in the room of both rather than in a narrow column each.
 */
function benchmarkText(benchmark: string, params: Readonly<Record<string, unknown>>): string {
  return [escapeControl(benchmark), formatParams(params)].filter(Boolean).join(' ');
}

/** `lab/10.0.0.12`: the target a machine served and its host (escaped: both come from users). */
export function machineLabel(target: string, host: string): string {
  return escapeControl(target === '' ? host : `${target}/${host}`);
}

export function runsLine(run: RunRecord): string {
  return `run ${run.id} (${run.name}): ${run.status}, ${run.passed} passed, ${run.failed} failed of ${run.repetitions} repetitions in ${run.cells} cells`;
}
