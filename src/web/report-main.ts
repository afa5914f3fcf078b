/**
 * The offline HTML report's client: reads the model the page embeds
 * (<script type="application/json" id="report-data">) and draws every section.
 */
import type { ReportModel } from '../report/html/model.js';
import { compareTable, drawBoxPlot, drawSeries } from './charts.js';
import { el } from './dom.js';
import { costSection, headerSection, resultsSection } from './report-sections.js';

function main(): void {
  const data = document.getElementById('report-data')?.textContent;
  const root = document.getElementById('report');
  if (!data || !root) throw new Error('report: the page has no #report-data or #report');
  const m = JSON.parse(data) as ReportModel;

  root.append(headerSection(m), resultsSection(m));
  if (m.comparison) {
    const c = m.comparison;
    root.append(
      el(
        'section',
        { className: 'comparison' },
        el('h2', { text: `Comparison by ${c.axis} (baseline ${c.baseline})` }),
        compareTable(c),
      ),
      costSection(m.cost, c.baseline),
    );
  }
  boxPlots(root, m);
  timeSeries(root, m);
}

function boxPlots(root: HTMLElement, m: ReportModel): void {
  const s = el(
    'section',
    { className: 'box-plots' },
    el('h2', { text: `Distributions by ${m.boxPlots.axis}` }),
  );
  root.append(s);
  if (m.boxPlots.charts.length === 0) {
    s.append(el('p', { className: 'muted', text: 'No passed repetitions to plot.' }));
    return;
  }
  const grid = el('div', { className: 'charts' });
  s.append(grid);
  for (const d of m.boxPlots.charts) {
    const box = el('div', { className: 'chart box-plot' });
    grid.append(box);
    drawBoxPlot(box, d);
  }
}

/** One <details> per cell; its charts are drawn when first opened (the first cell is open). */
function timeSeries(root: HTMLElement, m: ReportModel): void {
  const s = el('section', { className: 'time-series' }, el('h2', { text: 'Metrics per repetition' }));
  root.append(s);
  if (m.series.length === 0) {
    s.append(el('p', { className: 'muted', text: 'No metric samples were recorded.' }));
    return;
  }
  m.series.forEach((cell, i) => {
    const details = el('details', { className: 'cell' }, el('summary', { text: cell.label }));
    s.append(details);
    let drawn = false;
    const draw = () => {
      if (drawn || !details.open) return;
      drawn = true;
      for (const rep of cell.repetitions) {
        const what = `repetition ${rep.repetition}${rep.warmup ? ' (warmup)' : ''}${rep.status === 'failed' ? ' — failed' : ''}`;
        const grid = el('div', { className: 'charts' });
        details.append(el('h3', { text: what }), grid);
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
      draw();
    }
  });
}

main();
