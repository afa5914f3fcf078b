/**
 * Browser-side drawing of report data with the global `echarts` (loaded by the page):
 * box plots, metric time series and the compare table. Shared by the offline HTML report
 * and the web UI. Data only ever reaches the page as text (textContent, canvas), never as
 * markup. A chart's container gets `data-chart="drawn"` once ECharts has rendered it.
 */
import type { Comparison } from '../analysis/compare.js';
import { compareFooter, compareHead, compareRowCells, isPriced } from '../report/compare-cells.js';
import type { BoxPlotData, SeriesData } from '../report/html/chart-data.js';

export type { BoxPlotData, SeriesData } from '../report/html/chart-data.js';

const BOX_HEIGHT_PX = 280;
export const SERIES_HEIGHT_PX = 220;
/** Axis numbers as people read them: 1.2M, not 1,200,000. */
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });
const axisNumber = { formatter: (v: number) => compact.format(v) };
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

/** The value axis both chart kinds share: the unit as its name, not forced to start at 0. */
function valueAxis(unit: string) {
  return { type: 'value', name: unit, scale: true, axisLabel: axisNumber, nameTextStyle: { align: 'left' } };
}

/** One box per group with its repetitions as points over it; the unit and direction in the title. */
export function drawBoxPlot(el: HTMLElement, d: BoxPlotData): void {
  const { chart } = mount(el, `${d.title} — ${d.unit}, ${d.direction} is better`, BOX_HEIGHT_PX);
  chart.setOption({
    animation: false,
    color: PALETTE,
    grid: { left: 56, right: 24, top: 28, bottom: 32 },
    // richText: the tooltip is drawn on the canvas, so no group name is ever parsed as HTML.
    tooltip: { trigger: 'item', renderMode: 'richText' },
    xAxis: { type: 'category', data: d.groups.map((g) => g.group), axisLabel: { interval: 0 } },
    yAxis: valueAxis(d.unit),
    series: [
      { type: 'boxplot', name: 'quartiles', data: d.groups.map((g) => g.box) },
      {
        type: 'scatter',
        name: 'repetitions',
        symbolSize: 7,
        itemStyle: { color: '#e15759', opacity: 0.75 },
        data: d.groups.flatMap((g, i) => g.values.map((v) => [i, v])),
      },
    ],
  });
}

/** One line per series, x in seconds since the repetition started. */
export function drawSeries(el: HTMLElement, d: SeriesData): void {
  const { chart } = mount(el, d.unit ? `${d.title} (${d.unit})` : d.title, SERIES_HEIGHT_PX);
  chart.setOption(lineOption(d.lines, d.unit));
}

/** A line chart's option, x in seconds: the report's series and the web UI's live charts. */
export function lineOption(lines: SeriesData['lines'], unit: string) {
  return {
    animation: false,
    color: PALETTE,
    grid: { left: 56, right: 24, top: lines.length > 1 ? 40 : 28, bottom: 28 },
    // richText: the tooltip is drawn on the canvas, never parsed as HTML.
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    legend: lines.length > 1 ? { type: 'scroll', top: 0 } : { show: false },
    xAxis: { type: 'value', name: 's', min: 0, nameLocation: 'end' },
    yAxis: valueAxis(unit),
    series: lines.map((l) => ({
      type: 'line',
      name: l.name,
      showSymbol: l.points.length < 2,
      lineStyle: { width: 1.5 },
      data: l.points,
    })),
  };
}

/** The compare table with the terminal table's columns, verdicts coloured, geomean and warnings under it. */
export function compareTable(c: Comparison): HTMLElement {
  const wrap = document.createElement('div');
  wrap.className = 'compare';
  const table = document.createElement('table');
  table.className = 'compare-table';
  const headRow = table.createTHead().insertRow();
  const priced = isPriced(c);
  for (const h of compareHead(c)) {
    const th = document.createElement('th');
    th.textContent = h;
    headRow.append(th);
  }
  const body = table.createTBody();
  for (const row of c.rows)
    for (const g of row.groups) {
      const tr = body.insertRow();
      tr.dataset.group = g.group;
      for (const text of compareRowCells(row, g, priced)) tr.insertCell().textContent = text;
      const verdict = tr.cells[tr.cells.length - 1]!;
      verdict.className = 'verdict';
      if (g.verdict) verdict.dataset.verdict = g.verdict;
      if (g.verdict === 'better') Object.assign(verdict.style, { background: '#d9f2dc', color: '#17612a' });
      if (g.verdict === 'worse') Object.assign(verdict.style, { background: '#fbdcdc', color: '#9b1c1c' });
    }
  wrap.append(table);
  const notes = compareFooter(c);
  if (notes.length > 0) {
    const ul = document.createElement('ul');
    ul.className = 'compare-notes';
    for (const line of notes) {
      const li = document.createElement('li');
      li.textContent = line;
      if (line.startsWith('warning:')) li.className = 'warning';
      ul.append(li);
    }
    wrap.append(ul);
  }
  return wrap;
}

/** A title (as text) and a canvas area inside `el`; marks `el` drawn when ECharts has rendered. */
/**
 * A titled chart area in `el`, resized with it; `el` gets `data-chart="drawn"` each time
 * ECharts has rendered while `drawn()` holds.
 */
export function mount(el: HTMLElement, title: string, heightPx: number, drawn: () => boolean = () => true) {
  const heading = document.createElement('div');
  heading.className = 'chart-title';
  heading.textContent = title;
  const area = document.createElement('div');
  area.className = 'chart-area';
  area.style.width = '100%';
  area.style.height = `${heightPx}px`;
  el.replaceChildren(heading, area);
  el.removeAttribute('data-chart');
  const chart = echarts.init(area, undefined, { renderer: 'canvas' });
  chart.on('finished', () => {
    if (drawn()) el.setAttribute('data-chart', 'drawn');
  });
  const observer = new ResizeObserver(() => chart.resize());
  observer.observe(area);
  return { chart, observer };
}
