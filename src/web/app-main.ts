/**
 * The web UI of `benchyard serve` (bundled to dist/web/app.js): hash routes #/runs,
 * #/runs/<id>, #/compare?…, #/trend?tag=…, #/pools, each a view built from the JSON API
 * with text only.
 * The Runs view keeps running runs' progress live; the list itself is reread every few seconds.
 */
import type { RunSummary } from '../serve/views.js';
import { compareView } from './app-compare.js';
import { errorBox, getJson, progressBar, statusBadge, type View } from './app-common.js';
import { runView } from './app-run.js';
import { trendView } from './app-trend.js';
import { el, formatTime, textTable } from './dom.js';
import { followRun } from './live.js';

const LIST_REFRESH_MS = 5000;

function runsView(): View {
  const root = el('section', { className: 'runs-view' }, el('h1', { text: 'Runs' }));
  const body = el('tbody');
  const table = el('table', { className: 'runs' });
  const head = table.createTHead().insertRow();
  for (const h of ['run', 'id', 'status', 'progress', 'passed', 'failed', 'cells', 'started', 'finished'])
    head.append(el('th', { text: h }));
  table.append(body);
  const note = el('p', { className: 'muted' });
  root.append(table, note);

  const rows = new Map<string, { tr: HTMLTableRowElement; update(r: RunSummary): void }>();
  const streams = new Map<string, () => void>();
  const show = (r: RunSummary) => {
    let row = rows.get(r.id);
    if (!row) {
      const tr = el('tr');
      tr.dataset.run = r.id;
      const link = el('a', { text: r.name });
      link.href = `#/runs/${encodeURIComponent(r.id)}`;
      const cells = Array.from({ length: 9 }, () => el('td'));
      cells[0]!.append(link);
      for (const tag of r.tags ?? []) {
        const t = el('a', { className: 'tag', text: tag });
        t.href = `#/trend?tag=${encodeURIComponent(tag)}`;
        t.title = `the trend of the runs tagged ${tag}`;
        cells[0]!.append(document.createTextNode(' '), t);
      }
      cells[1]!.textContent = r.id;
      const bar = progressBar();
      cells[3]!.append(bar.root);
      tr.append(...cells);
      row = {
        tr,
        update(s) {
          tr.dataset.status = s.status;
          cells[2]!.replaceChildren(statusBadge(s.status));
          bar.update(s.results, s.repetitions, s.progress);
          cells[4]!.textContent = String(s.passed);
          cells[5]!.textContent = String(s.failed);
          cells[6]!.textContent = String(s.cells);
          cells[7]!.textContent = formatTime(s.startedAt);
          cells[8]!.textContent = formatTime(s.finishedAt);
        },
      };
      rows.set(r.id, row);
    }
    row.update(r);
    if (r.status === 'running' && !streams.has(r.id))
      streams.set(
        r.id,
        followRun(
          r.id,
          { snapshot: (s) => show(s.run), run: show, end: (s) => (show(s), streams.delete(r.id)) },
          { samples: false },
        ),
      );
  };
  const refresh = () =>
    getJson<RunSummary[]>('/api/runs').then(
      (list) => {
        list.forEach(show);
        // Newest first, as the API lists them.
        body.replaceChildren(...list.map((r) => rows.get(r.id)!.tr));
        note.textContent = list.length === 0 ? 'No runs yet: benchyard run <matrix> stores one here.' : '';
      },
      (err: unknown) => note.replaceChildren(errorBox(err)),
    );
  void refresh();
  const timer = setInterval(() => void refresh(), LIST_REFRESH_MS);
  return {
    root,
    dispose() {
      clearInterval(timer);
      for (const stop of streams.values()) stop();
    },
  };
}

interface PoolRow {
  pool: string;
  host: string;
  port?: number;
  user?: string;
  dockerSocket?: string;
  state: string;
  now?: boolean;
  heldBy?: { session: string; owner: string; since: string };
}
interface MachineRow {
  target?: string;
  provider: string;
  machine: string;
  where: string;
  status: string;
  heldBy: { session: string; owner: string; since: string };
  expiresAt: string;
}

function poolsView(): View {
  const root = el('section', { className: 'pools-view' }, el('h1', { text: 'Pools' }));
  const held = (h: PoolRow['heldBy']) => (h ? `${h.session} (${h.owner}) since ${formatTime(h.since)}` : '');
  getJson<{ members: PoolRow[]; machines: MachineRow[] }>('/api/pools').then(
    ({ members, machines }) =>
      root.append(
        el('h2', { text: 'Pool members' }),
        members.length === 0
          ? el('p', {
              className: 'muted',
              text: "No pools yet: 'benchyard pool add <pool> <host...>' makes one.",
            })
          : textTable(
              ['pool', 'member', 'user', 'docker socket', 'state', 'held by'],
              members.map((m) => [
                m.pool,
                m.port === undefined ? m.host : `${m.host}:${m.port}`,
                m.user ?? '',
                m.dockerSocket ?? '',
                m.state === 'removed' && m.now ? 'removed (now)' : m.state,
                held(m.heldBy),
              ]),
              'pool-members',
            ),
        el('h2', { text: 'Machines of cloud targets held by runs' }),
        machines.length === 0
          ? el('p', { className: 'muted', text: 'none' })
          : textTable(
              ['target', 'provider', 'machine', 'where', 'status', 'held by', 'expires'],
              machines.map((m) => [
                m.target ?? '',
                m.provider,
                m.machine,
                m.where,
                m.status,
                held(m.heldBy),
                formatTime(m.expiresAt),
              ]),
              'pool-machines',
            ),
      ),
    (err: unknown) => root.append(errorBox(err)),
  );
  return { root, dispose() {} };
}

/** `#/runs/<id>` → the run view, and so on; anything unknown shows the runs. */
function route(hash: string): View {
  const [pathPart = '', queryPart = ''] = hash.replace(/^#/, '').split('?', 2);
  const parts = pathPart.split('/').filter(Boolean);
  if (parts[0] === 'runs' && parts[1]) return runView(decodeURIComponent(parts[1]));
  if (parts[0] === 'compare') return compareView(new URLSearchParams(queryPart));
  if (parts[0] === 'trend') return trendView(new URLSearchParams(queryPart));
  if (parts[0] === 'pools') return poolsView();
  return runsView();
}

let current: View | undefined;
function render(): void {
  current?.dispose();
  const app = document.getElementById('app');
  if (!app) return;
  try {
    current = route(location.hash);
  } catch (err) {
    current = { root: errorBox(err), dispose() {} };
  }
  app.replaceChildren(current.root);
  const view = (location.hash.match(/^#\/(\w+)/)?.[1] ?? 'runs').replace(/^$/, 'runs');
  for (const a of document.querySelectorAll<HTMLAnchorElement>('header nav a'))
    a.classList.toggle('active', a.dataset.view === view);
}

window.addEventListener('hashchange', render);
render();
