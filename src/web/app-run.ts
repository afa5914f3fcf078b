/**
 * The Run view (#/runs/<id>): the run's state and progress, its cells table and machines,
 * and for each running cell live charts of its container's CPU and memory, all kept up to
 * date from the run's live stream. Once the run has finished: its pictures as the report
 * draws them, the summary and the machines side by side above the cells, box plots and
 * metric charts below.
 */
import type { RunCharts, RunDetail, RunSnapshot } from '../serve/api.js';
import type { SeriesChunk } from '../serve/samples.js';
import type { CellView, RunSummary } from '../serve/views.js';
import {
  errorBox,
  formatNumber,
  getJson,
  paramsText,
  progressBar,
  statusBadge,
  type View,
} from './app-common.js';
import { el, formatTime, textTable } from './dom.js';
import { energySection } from './energy-section.js';
import { followRun, LiveSeriesChart } from './live.js';
import { boxPlotSection, hardwareSection, metricsSection, summarySection } from './pictures.js';

const CPU = 'container.cpu.usage.cores';
const MEMORY = 'container.memory.usage.bytes';
const CELL_HEAD = [
  '#',
  'benchmark',
  'target',
  'params',
  'status',
  'repetitions',
  'failed',
  'median (first score)',
];

export function runView(id: string): View {
  const root = el('section', { className: 'run-view' });
  const title = el('h1', { text: id });
  const status = el('span');
  const progress = progressBar();
  const meta = el('p', { className: 'muted' });
  const cellsBody = el('tbody');
  const cellsTable = el('table', { className: 'cells' });
  const head = cellsTable.createTHead().insertRow();
  for (const h of CELL_HEAD) head.append(el('th', { text: h }));
  cellsTable.append(cellsBody);
  const machines = el('div');
  const charts = el('div', { className: 'charts' });
  const chartsSection = el(
    'section',
    { className: 'live-charts' },
    el('h2', { text: 'Live metrics' }),
    charts,
  );
  chartsSection.hidden = true;
  // Filled once the run has finished (see showPictures).
  const picturesTop = el('div', { className: 'pictures-top' });
  const picturesDetails = el('div', { className: 'pictures-details' });
  root.append(
    title,
    el('div', { className: 'run-state' }, status, progress.root),
    meta,
    picturesTop,
    el('h2', { text: 'Cells' }),
    el('div', { className: 'table-scroll' }, cellsTable),
    chartsSection,
    el('h2', { text: 'Machines' }),
    machines,
    picturesDetails,
  );

  const rows = new Map<string, HTMLTableRowElement>();
  const cells = new Map<string, CellView>();
  const cellCharts = new Map<string, { cpu: LiveSeriesChart; memory: LiveSeriesChart }>();

  const showRun = (r: RunSummary) => {
    title.textContent = r.name;
    status.replaceChildren(statusBadge(r.status));
    root.dataset.status = r.status;
    progress.update(r.results, r.repetitions, r.progress);
    meta.textContent = `run ${r.id} · started ${formatTime(r.startedAt)}${
      r.finishedAt ? ` · finished ${formatTime(r.finishedAt)}` : ''
    } · ${r.passed} passed, ${r.failed} failed`;
  };
  const showCell = (c: CellView) => {
    cells.set(c.id, c);
    let tr = rows.get(c.id);
    if (!tr) {
      tr = cellsBody.insertRow();
      tr.dataset.cell = c.id;
      rows.set(c.id, tr);
    }
    tr.dataset.status = c.status;
    const texts = [
      String(c.index + 1),
      c.benchmark,
      c.target,
      paramsText(c.params),
      '',
      c.planned !== undefined ? `${c.done} / ${c.planned}` : String(c.done),
      String(c.failed),
      c.score ? `${formatNumber(c.score.median)} ${c.score.unit} (${c.score.name}, n=${c.score.n})` : '',
    ];
    tr.replaceChildren(...texts.map((t) => el('td', { text: t })));
    tr.cells[4]!.append(statusBadge(c.status));
  };
  const chartsFor = (cellId: string) => {
    let pair = cellCharts.get(cellId);
    if (!pair) {
      const c = cells.get(cellId);
      const card = el('div', { className: 'cell-charts' });
      card.dataset.cell = cellId;
      const label = c ? `#${c.index + 1} ${c.benchmark} on ${c.target} ${paramsText(c.params)}` : cellId;
      const cpu = el('div', { className: 'chart' });
      const memory = el('div', { className: 'chart' });
      card.append(el('h3', { text: label }), cpu, memory);
      charts.append(card);
      chartsSection.hidden = false;
      pair = {
        cpu: new LiveSeriesChart(cpu, 'CPU', 'cores'),
        memory: new LiveSeriesChart(memory, 'Memory', 'MiB', 1 / (1024 * 1024)),
      };
      cellCharts.set(cellId, pair);
    }
    return pair;
  };
  const addSamples = (series: readonly SeriesChunk[]) => {
    for (const s of series) {
      if (s.cellId === '' || (s.name !== CPU && s.name !== MEMORY)) continue;
      const pair = chartsFor(s.cellId);
      (s.name === CPU ? pair.cpu : pair.memory).append(`rep ${s.repetition}`, s.points);
    }
  };
  const showDetail = (d: RunDetail) => {
    showRun(d.run);
    for (const c of d.cells) showCell(c);
    machines.replaceChildren(
      d.machines.length === 0
        ? el('p', { className: 'muted', text: 'none recorded' })
        : textTable(
            ['machine', 'target', 'provider', 'instance type', 'hostname', 'CPU', 'GPUs', 'fingerprint'],
            d.machines.map((m) => [
              m.machineId,
              m.target,
              m.provider,
              m.instanceType,
              m.hostname,
              m.cpu ?? '',
              m.gpus.join(', '),
              m.fingerprint,
            ]),
          ),
    );
  };

  let stop = () => {};
  let disposed = false;
  let pictures: 'none' | 'asked' | 'shown' = 'none';
  const showPictures = (r: RunSummary) => {
    if (r.status === 'running' || pictures !== 'none' || disposed) return;
    pictures = 'asked';
    getJson<RunCharts>(`/api/runs/${encodeURIComponent(id)}/charts`).then(
      (c) => {
        if (disposed) return;
        pictures = 'shown';
        root.dataset.pictures = 'shown';
        picturesTop.replaceChildren(summarySection(c.summary), hardwareSection(c.hardware, c.summary.axis));
        picturesDetails.replaceChildren(
          ...c.notes.map((n) => el('p', { className: 'muted', text: n })),
          boxPlotSection(c.boxPlots),
          ...[energySection(c.energy, c.summary.whiskers)].filter((e) => e !== undefined),
          metricsSection(c.series),
        );
      },
      (err: unknown) => picturesTop.replaceChildren(errorBox(err)),
    );
  };
  // A plain read first: an unknown run is a message, not a stream that fails.
  getJson<RunDetail>(`/api/runs/${encodeURIComponent(id)}`).then(
    (detail) => {
      if (disposed) return;
      showDetail(detail);
      showPictures(detail.run);
      stop = followRun(id, {
        snapshot: (s: RunSnapshot) => {
          showDetail(s);
          addSamples(s.samples);
        },
        result: (e) => e.cell && showCell(e.cell),
        samples: (e) => addSamples(e.series),
        run: showRun,
        end: (r) => {
          showRun(r);
          showPictures(r);
          // The cells' final states (a cancelled run leaves some incomplete).
          void getJson<RunDetail>(`/api/runs/${encodeURIComponent(id)}`).then(
            (d) => !disposed && showDetail(d),
            () => {},
          );
        },
      });
    },
    (err: unknown) => root.replaceChildren(errorBox(err)),
  );
  return {
    root,
    dispose() {
      disposed = true;
      stop();
      for (const pair of cellCharts.values()) {
        pair.cpu.dispose();
        pair.memory.dispose();
      }
      for (const area of root.querySelectorAll<HTMLElement>('.chart-area'))
        echarts.getInstanceByDom(area)?.dispose();
    },
  };
}
