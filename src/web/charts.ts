/**
 * Browser-side drawing of report data with the global `echarts` (loaded by the page):
 * box plots, metric time series and the compare table. Shared by the offline HTML report
 * and the web UI. Data only ever reaches the page as text (textContent, canvas), never as
 * markup. A chart's container gets `data-chart="drawn"` once ECharts has rendered it.
 */
import type { Comparison } from '../analysis/compare.js';
import {
  compareFooter,
  compareHead,
  compareRowCells,
  isEnergyRow,
  isPriced,
  rowsWithEnergy,
} from '../report/compare-cells.js';
import type { BoxPlotData, SeriesData } from '../report/html/chart-data.js';

export type { BoxPlotData, SeriesData } from '../report/html/chart-data.js';

const BOX_HEIGHT_PX = 280;
export const SERIES_HEIGHT_PX = 220;
/** Axis numbers as people read them: 1.2M, not 1,200,000. */
export const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });
export const axisNumber = { formatter: (v: number) => compact.format(v) };
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#9c755f',
];

/**
 * The value axis the detail charts share, the unit as its name: over the data's range, or
 * from zero (so a 3 % gap looks like 3 %) when `fromZero`.
 */
export function valueAxis(unit: string, fromZero = false) {
  return {
    type: 'value',
    name: unit,
    scale: !fromZero,
    min: fromZero ? (v: { min: number }) => Math.min(0, v.min) : null,
    axisLabel: axisNumber,
    nameTextStyle: { align: 'left' },
  };
}

/**
 * One box per group with its repetitions as points over it; the unit and direction in the
 * title. `setFromZero` redraws the value axis from zero or over the data's range.
 */
export function drawBoxPlot(
  el: HTMLElement,
  d: BoxPlotData,
  fromZero = false,
): { setFromZero(on: boolean): void } {
  const { chart } = mount(el, `${d.title} — ${d.unit}, ${d.direction} is better`, BOX_HEIGHT_PX);
  el.dataset.fromZero = String(fromZero);
  chart.setOption({
    animation: false,
    color: PALETTE,
    grid: { left: 56, right: 24, top: 28, bottom: 32 },
    // richText: the tooltip is drawn on the canvas, so no group name is ever parsed as HTML.
    tooltip: { trigger: 'item', renderMode: 'richText' },
    xAxis: { type: 'category', data: d.groups.map((g) => g.group), axisLabel: { interval: 0 } },
    yAxis: valueAxis(d.unit, fromZero),
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
  return {
    setFromZero(on) {
      el.dataset.fromZero = String(on);
      chart.setOption({ yAxis: valueAxis(d.unit, on) });
    },
  };
}

/** One line per series, x in seconds since the repetition started; dots only when too short for a line. */
export function drawSeries(el: HTMLElement, d: SeriesData): void {
  const { chart } = mount(el, d.unit ? `${d.title} (${d.unit})` : d.title, SERIES_HEIGHT_PX);
  el.dataset.mode = d.mode ?? 'line';
  chart.setOption(lineOption(d.lines, d.unit, d.mode));
}

/** A line chart's option, x in seconds: the report's series and the web UI's live charts. */
export function lineOption(lines: SeriesData['lines'], unit: string, mode: SeriesData['mode'] = 'line') {
  const option = lineChartOption(lines, unit);
  if (mode === 'points')
    option.series = lines.map((l) => ({ type: 'scatter', name: l.name, symbolSize: 6, data: l.points }));
  return option;
}

function lineChartOption(lines: SeriesData['lines'], unit: string) {
  const option: Record<string, unknown> & { series: object[] } = {
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
  return option;
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
  for (const row of rowsWithEnergy(c))
    for (const g of row.groups) {
      const tr = body.insertRow();
      tr.dataset.group = g.group;
      if (isEnergyRow(row)) tr.dataset.energy = row.energy;
      for (const text of compareRowCells(row, g, priced)) tr.insertCell().textContent = text;
      const verdict = tr.cells[tr.cells.length - 1]!;
      verdict.className = 'verdict';
      if (g.verdict) verdict.dataset.verdict = g.verdict;
      if (g.verdict === 'better') Object.assign(verdict.style, { background: '#d9f2dc', color: '#17612a' });
      if (g.verdict === 'worse') Object.assign(verdict.style, { background: '#fbdcdc', color: '#9b1c1c' });
    }
  // Wide: it scrolls inside its box, the page does not.
  const scroll = document.createElement('div');
  scroll.className = 'table-scroll';
  scroll.append(table);
  wrap.append(scroll);
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
