/**
 * The picture sections the offline report and a run's page in `serve` share: the summary
 * charts, the groups' hardware side by side, the box plots (with a from-zero toggle) and
 * the metric charts per cell. Each takes the JSON src/report/html/model.ts makes.
 */
import type { HardwareTable } from '../report/html/chart-data.js';
import type { Pictures } from '../report/html/model.js';
import { drawSummaryChart } from './bar-charts.js';
import { drawBoxPlot, drawSeries } from './charts.js';
import { el } from './dom.js';

/** A bar chart per benchmark and score, from zero; what the bars and whiskers are, in one line. */
export function summarySection(p: Pictures['summary']): HTMLElement {
  const s = el('section', { className: 'summary' }, el('h2', { text: 'Summary' }));
  if (p.charts.length === 0) return withText(s, 'No passed repetitions to chart.');
  s.append(
    el('p', {
      className: 'muted chart-note',
      text: `bars: median per ${p.axis} from zero (baseline ${p.baseline}); ${p.whiskers}`,
    }),
  );
  const grid = el('div', { className: 'summary-charts' });
  s.append(grid);
  const boxes = p.charts.map(() => grid.appendChild(el('div', { className: 'chart summary-chart' })));
  onceAttached(s, () => p.charts.forEach((d, i) => drawSummaryChart(boxes[i]!, d)));
  return s;
}

/** The groups' machines side by side; rows where the groups differ are marked. */
export function hardwareSection(t: HardwareTable, axis: string): HTMLElement {
  const s = el('section', { className: 'hardware' }, el('h2', { text: `Hardware by ${axis}` }));
  if (t.rows.length <= 1 && t.rows.every((r) => r.values.every((v) => v === '(none recorded)')))
    return withText(s, 'No machine records were stored for these runs.');
  const table = el('table', { className: 'hardware-table' });
  const head = table.createTHead().insertRow();
  head.append(el('th'), ...t.groups.map((g) => el('th', { text: g })));
  const body = table.createTBody();
  for (const row of t.rows) {
    const tr = body.insertRow();
    if (row.differs) tr.className = 'differs';
    tr.append(el('th', { text: row.label }), ...row.values.map((v) => el('td', { text: v })));
  }
  s.append(el('div', { className: 'table-scroll' }, table));
  if (t.rows.some((r) => r.differs))
    s.append(el('p', { className: 'muted', text: 'marked rows differ between the groups' }));
  return s;
}

/** Box plots over the data's range; a checkbox draws every value axis from zero instead. */
export function boxPlotSection(b: Pictures['boxPlots']): HTMLElement {
  const toggle = el('input', { className: 'from-zero' });
  toggle.type = 'checkbox';
  const s = el(
    'section',
    { className: 'box-plots' },
    el('h2', { text: `Distributions by ${b.axis}` }),
    el('label', { className: 'toggle' }, toggle, document.createTextNode(' value axes from zero')),
  );
  if (b.charts.length === 0) return withText(s, 'No passed repetitions to plot.');
  const grid = el('div', { className: 'charts' });
  s.append(grid);
  const boxes = b.charts.map(() => grid.appendChild(el('div', { className: 'chart box-plot' })));
  onceAttached(s, () => {
    const drawn = b.charts.map((d, i) => drawBoxPlot(boxes[i]!, d, toggle.checked));
    toggle.addEventListener('change', () => drawn.forEach((c) => c.setFromZero(toggle.checked)));
  });
  return s;
}

/**
 * One <details> per cell; its charts are drawn when first opened (the first cell is open).
 * Metrics that never changed are named in a line instead of charted.
 */
export function metricsSection(series: Pictures['series'], title = 'Metrics per repetition'): HTMLElement {
  const s = el('section', { className: 'time-series' }, el('h2', { text: title }));
  if (series.length === 0) return withText(s, 'No metric samples were recorded.');
  series.forEach((cell, i) => {
    const details = el('details', { className: 'cell' }, el('summary', { text: cell.label }));
    s.append(details);
    if (cell.constant.length > 0)
      details.append(
        el('p', {
          className: 'muted constant-series',
          text: `constant, not charted: ${cell.constant
            .map((c) => `${c.name} = ${c.values.join(' / ')}${c.unit ? ` ${c.unit}` : ''}`)
            .join('; ')}`,
        }),
      );
    let drawn = false;
    const draw = () => {
      if (drawn || !details.open) return;
      drawn = true;
      for (const rep of cell.repetitions) {
        const what = `repetition ${rep.repetition}${rep.warmup ? ' (warmup)' : ''}${rep.status === 'failed' ? ' — failed' : ''}`;
        const grid = el('div', { className: 'charts' });
        details.append(el('h3', { text: what }), grid);
        if (rep.charts.length === 0) grid.append(el('p', { className: 'muted', text: 'nothing varied' }));
        for (const d of rep.charts) {
          const box = el('div', { className: 'chart series' });
          grid.append(box);
          drawSeries(box, d);
        }
      }
    };
    details.addEventListener('toggle', draw);
    if (i === 0) {
      details.open = true;
      onceAttached(s, draw);
    }
  });
  return s;
}

/**
 * Runs `draw` once `node` is in the document (the callers append what these functions
 * return right away): a chart started in a detached element would first render at size 0.
 */
export function onceAttached(node: Element, draw: () => void): void {
  const attempt = (left: number): void => {
    if (node.isConnected || left === 0) draw();
    else requestAnimationFrame(() => attempt(left - 1));
  };
  queueMicrotask(() => attempt(30));
}

function withText(s: HTMLElement, text: string): HTMLElement {
  s.append(el('p', { className: 'muted', text }));
  return s;
}
