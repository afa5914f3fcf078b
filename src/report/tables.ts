/** Terminal tables for plans, run summaries and result listings. */
import Table from 'cli-table3';
import type { MatrixCell, MetricSample, RepetitionResult, RunRecord } from '../core/index.js';
import { formatDuration } from '../core/index.js';
import { formatNumber, formatParams, type CellSummary } from './summary.js';
import { escapeControl, escapeControlKeepLines } from './terminal-text.js';

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] }, wordWrap: true });
}

/** A plain table (no colours: output often goes to a pipe or a CI log). */
export function dataTable(head: string[], rows: readonly (readonly string[])[]): string {
  const t = table(head);
  for (const r of rows) t.push([...r]);
  return t.toString();
}

export function planTable(cells: readonly MatrixCell[]): string {
  const access = cells.some((c) => formatRequires(c.requires) !== '');
  const t = table([
    '#',
    'cell',
    'target',
    'benchmark',
    'params',
    'reps',
    'timeout',
    'image',
    ...(access ? ['requires'] : []),
  ]);
  for (const c of cells)
    t.push([
      c.index + 1,
      c.id,
      c.target.name,
      c.benchmark,
      formatParams(c.params),
      c.repetitions,
      formatDuration(c.timeoutMs),
      escapeControl(c.image),
      ...(access ? [escapeControl(formatRequires(c.requires))] : []),
    ]);
  return t.toString();
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

export function summaryTable(summaries: readonly CellSummary[]): string {
  const t = table(['cell', 'target', 'benchmark', 'params', 'passed', 'median scores']);
  for (const s of summaries)
    t.push([
      s.cellId,
      s.target,
      s.benchmark,
      formatParams(s.params),
      `${s.passed}/${s.total}`,
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
    ]);
  return t.toString();
}

export function resultsTable(results: readonly RepetitionResult[]): string {
  const t = table(['cell', 'rep', 'benchmark', 'params', 'status', 'scores / reason', 'duration']);
  for (const r of results)
    t.push([
      r.cellId,
      r.repetition,
      r.benchmark,
      formatParams(r.params),
      `${r.status === 'passed' ? 'passed' : `failed (${r.failureClass})`}${r.warmup ? ' warmup' : ''}${r.control ? ' control' : ''}`,
      r.status === 'passed'
        ? r.scores.map((s) => `${s.name} ${formatNumber(s.value)} ${s.unit}`).join('\n')
        : escapeControlKeepLines((r.failureReason ?? '').slice(0, 200)),
      formatDuration(r.durationMs),
    ]);
  return t.toString();
}

export function runsLine(run: RunRecord): string {
  return `run ${run.id} (${run.name}): ${run.status}, ${run.passed} passed, ${run.failed} failed of ${run.repetitions} repetitions in ${run.cells} cells`;
}

/** One line per metric series of a run: where, what, how many samples, min / mean / max. */
export function seriesTable(samples: readonly MetricSample[]): string {
  const series = new Map<string, { s: MetricSample; n: number; min: number; max: number; sum: number }>();
  for (const s of samples) {
    const key = [s.cellId, s.repetition, s.scope, s.name, s.containerId ?? '', s.device ?? ''].join('|');
    const e = series.get(key);
    if (!e) series.set(key, { s, n: 1, min: s.value, max: s.value, sum: s.value });
    else {
      e.n++;
      e.min = Math.min(e.min, s.value);
      e.max = Math.max(e.max, s.value);
      e.sum += s.value;
    }
  }
  const t = table(['cell', 'rep', 'metric', 'device', 'unit', 'n', 'min', 'mean', 'max']);
  const rows = [...series.values()].sort(
    (a, b) =>
      a.s.cellId.localeCompare(b.s.cellId) ||
      a.s.repetition - b.s.repetition ||
      a.s.name.localeCompare(b.s.name),
  );
  for (const { s, n, min, max, sum } of rows)
    t.push([
      s.cellId || '-',
      s.repetition || '-',
      s.name,
      s.device ?? '',
      s.unit,
      n,
      formatNumber(min),
      formatNumber(sum / n),
      formatNumber(max),
    ]);
  return t.toString();
}
