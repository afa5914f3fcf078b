/** The report's text sections: header, runs, results per cell, and cost. */
import type { CostModel, ReportModel } from '../report/html/model.js';
import { formatNumber, formatParams } from '../report/summary.js';
import { el, formatTime, textTable, type Cell } from './dom.js';

/** Title and one line per run: no table, so the summary charts come first. */
export function headerSection(m: ReportModel): HTMLElement {
  const s = el(
    'header',
    {},
    el('h1', { text: 'benchyard report' }),
    el('div', { className: 'muted', text: `generated ${formatTime(m.generatedAt)}` }),
    list(
      m.runs.map(
        (r) =>
          `${r.name} · run ${r.id} · ${r.status} · ${formatTime(r.startedAt)} · ${r.passed} passed, ${r.failed} failed of ${r.repetitions} repetitions in ${r.cells} cells`,
      ),
      'run-lines',
    ),
  );
  if (m.notes.length > 0) s.append(list(m.notes, 'notes'));
  return s;
}

export function runsSection(m: ReportModel): HTMLElement {
  return el(
    'section',
    { className: 'runs' },
    el('h2', { text: 'Runs' }),
    textTable(
      ['run', 'name', 'status', 'started', 'finished', 'cells', 'repetitions', 'passed', 'failed'],
      m.runs.map((r) => [
        r.id,
        r.name,
        { text: r.status, className: `status-${r.status}` },
        formatTime(r.startedAt),
        formatTime(r.finishedAt),
        num(r.cells),
        num(r.repetitions),
        num(r.passed),
        { text: String(r.failed), className: r.failed > 0 ? 'num status-failed' : 'num' },
      ]),
      'runs',
    ),
  );
}

export function resultsSection(m: ReportModel): HTMLElement {
  const multiRun = m.runs.length > 1;
  const withEnergy = m.cells.some((c) => c.energy !== undefined);
  const s = el('section', { className: 'results' }, el('h2', { text: 'Results' }));
  if (m.cells.length === 0) return withText(s, 'No results were recorded.');
  const rows = m.cells.map((c): Cell[] => [
    ...(multiRun ? [c.runId] : []),
    c.benchmark,
    formatParams(c.params),
    c.target,
    { text: `${c.passed}/${c.total}`, className: c.passed < c.total ? 'num status-failed' : 'num' },
    {
      text: c.scores
        .map((x) => `${x.name} ${formatNumber(x.median)} ${x.unit} (${x.direction} is better, n=${x.n})`)
        .join('\n'),
      className: 'scores',
    },
    c.hourlyPriceUsd !== undefined ? `$${formatNumber(c.hourlyPriceUsd)}` : '',
    ...(withEnergy ? [joulesText(c.energy)] : []),
  ]);
  const head = [
    ...(multiRun ? ['run'] : []),
    'benchmark',
    'params',
    'target',
    'passed',
    'median scores',
    '$/hour',
    ...(withEnergy ? ['J per repetition (median)'] : []),
  ];
  s.append(textTable(head, rows, 'cells'));
  const failures = m.cells.flatMap((c) =>
    c.failures.map((f) => `${c.benchmark} ${formatParams(c.params)} @${c.target} ${f}`),
  );
  if (failures.length > 0) s.append(el('h3', { text: 'Failures' }), list(failures, 'failures'));
  const suspects = m.cells.flatMap((c) =>
    (c.suspectReasons ?? []).map((why) => `${c.benchmark} ${formatParams(c.params)} @${c.target} ${why}`),
  );
  if (suspects.length > 0)
    s.append(el('h3', { text: 'Suspect repetitions (hardware not healthy)' }), list(suspects, 'suspects'));
  return s;
}

export function costSection(cost: CostModel | undefined, baseline: string): HTMLElement {
  const s = el('section', { className: 'cost' }, el('h2', { text: 'Cost' }));
  if (!cost || !cost.priced) return withText(s, 'no price recorded');
  const usd = (x: number | undefined) => (x === undefined ? '' : `$${x.toPrecision(3)}`);
  s.append(
    el('p', {
      text: `hourly price: ${cost.prices.map((p) => `${p.group} ${usd(p.hourlyPriceUsd) || '(none recorded)'}`).join(', ')}`,
    }),
  );
  s.append(
    textTable(
      ['cell', 'score', 'group', '$/hour', 'cost per repetition', 'per dollar (median ÷ $/hour)'],
      cost.rows.map((r) => [
        r.cell,
        `${r.score} (${r.unit}, ${r.direction} is better)`,
        r.group,
        usd(r.hourlyPriceUsd),
        usd(r.costPerRepetitionUsd),
        r.perDollar === undefined ? '' : `${formatNumber(r.perDollar)} ${r.unit} per $/h`,
      ]),
      'cost-table',
    ),
  );
  const lines = cost.geomean
    .filter((g) => g.perDollarRatio !== undefined)
    .map(
      (g) => `per-dollar geomean ${g.group} vs ${baseline}: ×${g.perDollarRatio!.toFixed(3)} (> 1 is better)`,
    );
  if (lines.length > 0) s.append(list(lines, 'notes'));
  return s;
}

/** Measured joules only: a cell without energy stays empty. */
function joulesText(e: ReportModel['cells'][number]['energy']): Cell {
  if (!e) return '';
  return { text: `${formatNumber(e.joules)} J${e.n < e.of ? ` (${e.n} of ${e.of})` : ''}`, className: 'num' };
}

function num(n: number): Cell {
  return { text: String(n), className: 'num' };
}

function list(items: readonly string[], className: string): HTMLElement {
  return el('ul', { className }, ...items.map((t) => el('li', { text: t })));
}

function withText(s: HTMLElement, text: string): HTMLElement {
  s.append(el('p', { className: 'muted', text }));
  return s;
}
