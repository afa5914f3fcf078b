/**
 * The summary bars (a bar per group from zero to its median, the comparison's interval as
 * a whisker, OpenBenchmarking-style) and the trend of a score across runs (a point per run
 * with whiskers, change points marked). Drawn with the page's global ECharts; text reaches
 * the canvas only, never the DOM as markup.
 */
import type { SummaryChartData, TrendChartData } from '../report/html/chart-data.js';
import { axisNumber, compact, mount, PALETTE } from './charts.js';

/** Height of one group's bar, and the gap between cells (px). */
const BAR_PX = 20;
const CELL_GAP_PX = 14;
/** Part of each cell's band the bars fill: ECharts' barCategoryGap is the rest. */
const BAND_FILL = 0.7;
const TREND_HEIGHT_PX = 240;

const better = (d: { direction: string }) => (d.direction === 'higher' ? 'higher' : 'lower');

function signed(x: number): string {
  return `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(1)} %`;
}

/** One chart: the cells one under another, in each a bar per group; whiskers where the comparison gave an interval. */
export function drawSummaryChart(el: HTMLElement, d: SummaryChartData): void {
  const n = d.groups.length;
  const band = (n * BAR_PX) / BAND_FILL + CELL_GAP_PX;
  const legend = n > 1;
  const height = Math.max(90, 40 + (legend ? 30 : 0) + d.cells.length * band);
  const level = d.confidence !== undefined ? `${Math.round(d.confidence * 1000) / 10} % ` : '';
  const { chart } = mount(el, `${d.benchmark} · ${d.score} (${d.unit}) — ${better(d)} is better`, height);
  if (whiskersOf(d).length > 0)
    el.insertBefore(
      Object.assign(document.createElement('div'), {
        className: 'chart-subtitle',
        textContent: `whiskers: ${level}interval of the difference from ${d.baseline}`,
      }),
      el.lastChild,
    );
  el.dataset.groups = String(n);
  el.dataset.cells = String(d.cells.length);
  const max = Math.max(0, ...d.cells.flatMap((c) => c.bars.map((b) => Math.max(b.median ?? 0, b.high ?? 0))));
  const whiskers = whiskersOf(d);
  chart.setOption({
    animation: false,
    color: PALETTE,
    // The category labels (params) get up to a third of the width, broken over lines.
    grid: {
      left: 8,
      right: 56,
      top: legend ? 30 : 8,
      bottom: 28,
      outerBoundsMode: 'same',
      outerBoundsContain: 'axisLabel',
    },
    legend: legend ? { type: 'scroll', top: 0, data: d.groups } : { show: false },
    tooltip: { trigger: 'item', renderMode: 'richText' },
    // The unit is in the title: an axis name would crowd the last label.
    xAxis: {
      type: 'value',
      min: (v: { min: number }) => Math.min(0, v.min),
      axisLabel: axisNumber,
    },
    yAxis: {
      type: 'category',
      inverse: true,
      data: d.cells.map((c) => c.label),
      axisLabel: { width: Math.max(80, Math.floor((el.clientWidth || 600) / 3)), overflow: 'break' },
    },
    series: [
      ...d.groups.map((group, gi) => ({
        type: 'bar',
        name: group,
        barGap: '0%',
        barCategoryGap: `${Math.round((1 - BAND_FILL) * 100)}%`,
        itemStyle: { color: PALETTE[gi % PALETTE.length] },
        data: d.cells.map((c) => {
          const b = c.bars.find((x) => x.group === group);
          if (b?.median === undefined) return { value: null };
          const small = max > 0 && Math.abs(b.median) < 0.3 * max;
          const text = `${compact.format(b.median)}${b.diffPct !== undefined ? ` (${signed(b.diffPct)})` : ''}`;
          return {
            value: b.median,
            label: {
              show: true,
              formatter: text,
              position: small ? 'right' : 'insideLeft',
              color: small ? '#1f2328' : '#fff',
              fontSize: 11,
            },
            tooltip: {
              formatter: [
                `${group}: median ${compact.format(b.median)} ${d.unit} (n=${b.n})`,
                b.low !== undefined ? `interval ${compact.format(b.low)} – ${compact.format(b.high!)}` : '',
                b.diffPct !== undefined ? `${signed(b.diffPct)} vs ${d.baseline}` : '',
                b.verdict === 'too few repetitions' && b.needsRepetitions !== undefined
                  ? `too few repetitions: ${b.needsRepetitions} per group would allow a verdict`
                  : (b.verdict ?? ''),
              ]
                .filter(Boolean)
                .join('\n'),
            },
          };
        }),
      })),
      {
        type: 'custom',
        name: 'interval',
        silent: true,
        z: 10,
        encode: { x: [0, 1], y: 2 },
        data: whiskers,
        renderItem: (_params: unknown, api: Api) => {
          const [lowX, y] = api.coord([api.value(0), api.value(2)]);
          const [highX] = api.coord([api.value(1), api.value(2)]);
          // ECharts lays the bars of a band out in series order, the first at the band's start.
          const bandPx = api.size([0, 1])[1]!;
          const barPx = (bandPx * BAND_FILL) / n;
          const at = y! - (bandPx * BAND_FILL) / 2 + barPx * (api.value(3) + 0.5);
          const cap = Math.max(3, barPx * 0.3);
          const style = { stroke: '#1f2328', lineWidth: 1.5 };
          return {
            type: 'group',
            children: [
              { type: 'line', shape: { x1: lowX, y1: at, x2: highX, y2: at }, style },
              { type: 'line', shape: { x1: lowX, y1: at - cap, x2: lowX, y2: at + cap }, style },
              { type: 'line', shape: { x1: highX, y1: at - cap, x2: highX, y2: at + cap }, style },
            ],
          };
        },
      },
    ],
  });
}

/** [low, high, cell index, group index] per bar with an interval. */
function whiskersOf(d: SummaryChartData): number[][] {
  return d.cells.flatMap((c, ci) =>
    c.bars.flatMap((b) =>
      b.low !== undefined && b.high !== undefined ? [[b.low, b.high, ci, d.groups.indexOf(b.group)]] : [],
    ),
  );
}

/** `12-05 03:51`, with seconds where two runs share a minute, numbered where they share a second. */
function runLabels(starts: readonly string[]): string[] {
  const unique = (xs: string[]) => new Set(xs).size === xs.length;
  const minutes = starts.map((at) => `${at.slice(5, 10)} ${at.slice(11, 16)}`);
  if (unique(minutes)) return minutes;
  const seconds = starts.map((at) => `${at.slice(5, 10)} ${at.slice(11, 19)}`);
  return unique(seconds) ? seconds : seconds.map((s, i) => `#${i + 1} ${s}`);
}

/** What ECharts gives a custom series' renderItem (the part used here). */
interface Api {
  value(dim: number): number;
  coord(point: number[]): number[];
  size(delta: number[]): number[];
}

/** A point per run at its median, whiskers where there is an interval, change points as dashed red lines. */
export function drawTrendChart(el: HTMLElement, d: TrendChartData): void {
  const { chart } = mount(el, `${d.cell} · ${d.score} (${d.unit}) — ${better(d)} is better`, TREND_HEIGHT_PX);
  el.dataset.points = String(d.points.length);
  el.dataset.changePoints = String(d.changePoints.length);
  const labels = runLabels(d.points.map((p) => p.at));
  chart.setOption({
    animation: false,
    color: PALETTE,
    grid: { left: 56, right: 24, top: 28, bottom: 40 },
    tooltip: { trigger: 'item', renderMode: 'richText' },
    xAxis: { type: 'category', data: labels, axisLabel: { hideOverlap: true } },
    yAxis: {
      type: 'value',
      name: d.unit,
      scale: true,
      axisLabel: axisNumber,
      nameTextStyle: { align: 'left' },
    },
    series: [
      {
        type: 'line',
        name: d.score,
        symbolSize: 7,
        showAllSymbol: true,
        data: d.points.map((p) => ({
          value: p.median,
          tooltip: {
            formatter: [
              `run ${p.runId} (${p.at.slice(0, 16).replace('T', ' ')})`,
              `median ${compact.format(p.median)} ${d.unit}, n=${p.n}`,
              p.low !== undefined ? `interval ${compact.format(p.low)} – ${compact.format(p.high!)}` : '',
            ]
              .filter(Boolean)
              .join('\n'),
          },
        })),
        markLine: {
          silent: true,
          symbol: 'none',
          lineStyle: { color: '#c62828', type: 'dashed', width: 1.5 },
          label: { color: '#c62828' },
          data: d.changePoints.map((c) => ({
            xAxis: c.index,
            label: { formatter: c.changePct !== undefined ? `change ${signed(c.changePct)}` : 'change' },
          })),
        },
      },
      {
        type: 'custom',
        name: 'interval',
        silent: true,
        encode: { x: 0, y: [1, 2] },
        data: d.points.flatMap((p, i) =>
          p.low !== undefined && p.high !== undefined ? [[i, p.low, p.high]] : [],
        ),
        renderItem: (_params: unknown, api: Api) => {
          const [x, low] = api.coord([api.value(0), api.value(1)]);
          const [, high] = api.coord([api.value(0), api.value(2)]);
          const style = { stroke: PALETTE[0], lineWidth: 1.5 };
          return {
            type: 'group',
            children: [
              { type: 'line', shape: { x1: x, y1: low, x2: x, y2: high }, style },
              { type: 'line', shape: { x1: x! - 4, y1: low, x2: x! + 4, y2: low }, style },
              { type: 'line', shape: { x1: x! - 4, y1: high, x2: x! + 4, y2: high }, style },
            ],
          };
        },
      },
    ],
  });
}
