/**
 * The Compare view (#/compare?run=<id>&run=<id>&by=<axis>&baseline=<group>): pick runs and
 * an axis, see the table `benchyard compare` prints (the same columns, verdicts coloured).
 */
import type { Comparison } from '../analysis/compare.js';
import { AXES as COMPARE_AXES } from '../analysis/groups.js';
import type { RunSummary } from '../serve/views.js';
import { errorBox, getJson, type View } from './app-common.js';
import { compareTable } from './charts.js';
import { el, formatTime } from './dom.js';

/** The axes `compare` knows, and `param:` to be completed with a parameter's name. */
const AXES = [...COMPARE_AXES, 'param:'];

export function compareView(query: URLSearchParams): View {
  const root = el('section', { className: 'compare-view' }, el('h1', { text: 'Compare' }));
  const runs = el('select');
  runs.multiple = true;
  runs.name = 'run';
  const by = el('input');
  by.name = 'by';
  by.value = query.get('by') ?? 'target';
  by.setAttribute('list', 'compare-axes');
  const axes = el('datalist');
  axes.id = 'compare-axes';
  for (const a of AXES) axes.append(Object.assign(el('option'), { value: a }));
  const baseline = el('input');
  baseline.name = 'baseline';
  baseline.placeholder = '(first group)';
  baseline.value = query.get('baseline') ?? '';
  const submit = el('button', { text: 'Compare' });
  submit.type = 'submit';
  const form = el(
    'form',
    { className: 'compare-form' },
    label('runs (none: the latest)', runs),
    label('axis', by, axes),
    label('baseline', baseline),
    submit,
  );
  const out = el('div', { className: 'compare-result' });
  root.append(form, out);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const o of runs.selectedOptions) q.append('run', o.value);
    q.set('by', by.value.trim());
    if (baseline.value.trim()) q.set('baseline', baseline.value.trim());
    location.hash = `#/compare?${q.toString()}`;
  });

  const chosen = new Set(query.getAll('run'));
  getJson<RunSummary[]>('/api/runs').then(
    (list) => {
      for (const r of list) {
        const o = el('option', { text: `${r.name} · ${r.id} · ${r.status} · ${formatTime(r.startedAt)}` });
        o.value = r.id;
        o.selected = chosen.has(r.id);
        runs.append(o);
      }
    },
    (err: unknown) => out.replaceChildren(errorBox(err)),
  );
  if (query.get('by')) {
    out.replaceChildren(el('p', { className: 'muted', text: 'Comparing…' }));
    getJson<Comparison>(`/api/compare?${query.toString()}`).then(
      (c) =>
        out.replaceChildren(
          el('h2', { text: `By ${c.axis}, baseline ${c.baseline}` }),
          c.rows.length === 0
            ? el('p', { className: 'muted', text: 'no scores to compare' })
            : compareTable(c),
        ),
      (err: unknown) => out.replaceChildren(errorBox(err)),
    );
  }
  return { root, dispose() {} };
}

function label(text: string, ...inputs: HTMLElement[]): HTMLElement {
  return el('label', { text }, ...inputs);
}
