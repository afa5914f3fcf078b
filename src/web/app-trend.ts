/**
 * The Trend view (#/trend?tag=<tag>): the runs that carry a tag, and for each cell and score
 * a point per run at its median with whiskers, change points marked. Without a tag: the
 * tags there are, to pick one.
 */
import type { TrendModel } from '../report/html/trend.js';
import type { TagSummary } from '../serve/trend-api.js';
import { errorBox, getJson, statusBadge, type View } from './app-common.js';
import { drawTrendChart } from './bar-charts.js';
import { el, formatTime } from './dom.js';

export function trendView(query: URLSearchParams): View {
  const tag = query.get('tag');
  const root = el(
    'section',
    { className: 'trend-view' },
    el('h1', { text: tag ? `Trend: ${tag}` : 'Trend' }),
  );
  const dispose = () => {
    for (const area of root.querySelectorAll<HTMLElement>('.chart-area'))
      echarts.getInstanceByDom(area)?.dispose();
  };
  if (!tag) {
    getJson<TagSummary[]>('/api/tags').then(
      (tags) => root.append(tagList(tags)),
      (err: unknown) => root.append(errorBox(err)),
    );
    return { root, dispose };
  }
  const q = new URLSearchParams({ tag });
  if (query.get('runs')) q.set('runs', query.get('runs')!);
  root.append(el('p', { className: 'muted', text: 'Reading the runs…' }));
  getJson<TrendModel>(`/api/trend?${q.toString()}`).then(
    (t) => root.replaceChildren(...trendSections(t)),
    (err: unknown) => root.append(errorBox(err)),
  );
  return { root, dispose };
}

function tagList(tags: readonly TagSummary[]): HTMLElement {
  if (tags.length === 0)
    return el('p', {
      className: 'muted',
      text: 'No run has a tag yet: benchyard run <matrix> --tag nightly gives one.',
    });
  const ul = el('ul', { className: 'tags' });
  for (const t of tags) {
    const a = el('a', { text: t.tag });
    a.href = `#/trend?tag=${encodeURIComponent(t.tag)}`;
    ul.append(
      el('li', {}, a, document.createTextNode(` — ${t.runs} runs, the latest ${formatTime(t.latest)}`)),
    );
  }
  return ul;
}

function trendSections(t: TrendModel): HTMLElement[] {
  const title = el('h1', { text: `Trend: ${t.tag}` });
  const runs = el('table', { className: 'trend-runs' });
  const head = runs.createTHead().insertRow();
  for (const h of ['run', 'name', 'status', 'started', 'passed', 'failed'])
    head.append(el('th', { text: h }));
  const body = runs.createTBody();
  for (const r of [...t.runs].reverse()) {
    const tr = body.insertRow();
    tr.dataset.run = r.id;
    const link = el('a', { text: r.id });
    link.href = `#/runs/${encodeURIComponent(r.id)}`;
    tr.append(
      el('td', {}, link),
      el('td', { text: r.name }),
      el('td', {}, statusBadge(r.status)),
      el('td', { text: formatTime(r.startedAt) }),
      el('td', { className: 'num', text: String(r.passed) }),
      el('td', { className: 'num', text: String(r.failed) }),
    );
  }
  const marked = t.charts.reduce((n, c) => n + c.changePoints.length, 0);
  const notes = el(
    'ul',
    { className: 'chart-notes muted' },
    el('li', { text: `${t.runs.length} runs with the tag, oldest first on each chart; ${t.whiskers}` }),
    el('li', { text: `change points (dashed red, ${marked} found): ${t.changePointMethod}` }),
  );
  const grid = el('div', { className: 'charts trend-charts' });
  for (const d of t.charts) {
    const box = el('div', { className: 'chart trend-chart' });
    grid.append(box);
    drawTrendChart(box, d);
  }
  return [
    title,
    notes,
    t.charts.length === 0
      ? el('p', { className: 'muted', text: 'No passed repetitions in these runs.' })
      : grid,
    el('h2', { text: 'Runs' }),
    el('div', { className: 'table-scroll' }, runs),
  ];
}
