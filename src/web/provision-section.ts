/**
 * The report's provisioning timeline: per machine, the seconds from the request to each
 * step it reached, and a bar of its phases drawn to one scale for all machines, so a slow
 * boot or a slow image transfer shows at a glance.
 */
import type { ProvisionTimeline } from '../report/provision.js';
import { el } from './dom.js';

type Step = ProvisionTimeline['steps'][number];

/** One colour per step (the phase that ends there), distinguishable in print too. */
const COLOURS = ['#8c96a0', '#5470c6', '#91cc75', '#fac858', '#ee6666', '#73c0de', '#3ba272', '#9a60b4'];

/** Where some machine recorded a timeline: its section; else nothing. */
export function provisionSection(t: ProvisionTimeline | undefined): HTMLElement | undefined {
  if (!t) return undefined;
  const steps = t.steps.filter((s) => s.step !== 'requested');
  const multiRun = new Set(t.machines.map((m) => m.runId)).size > 1;
  const table = el('table', { className: 'provision-table' });
  const head = table.createTHead().insertRow();
  for (const h of [
    ...(multiRun ? ['run'] : []),
    'machine',
    'type',
    ...steps.map((s) => `${s.title} (s)`),
    'timeline',
  ])
    head.append(el('th', { text: h }));
  const body = table.createTBody();
  for (const m of t.machines) {
    const tr = body.insertRow();
    tr.dataset.machine = m.machineId;
    for (const text of [...(multiRun ? [m.runId] : []), m.label, m.instanceType])
      tr.append(el('td', { text }));
    for (const s of steps) {
      const ms = m.at[s.step];
      const td = el('td', { className: 'num', text: ms === undefined ? '–' : seconds(ms) });
      td.dataset.step = s.step;
      tr.append(td);
    }
    const cell = el('td');
    cell.append(bar(m.at, steps, t.maxMs));
    tr.append(cell);
  }
  return el(
    'section',
    { className: 'provision' },
    el('h2', { text: 'Provisioning timeline' }),
    el('p', {
      className: 'chart-note muted',
      text: `Seconds from the request for each machine to each step it reached; bars to one scale (the longest: ${seconds(t.maxMs)} s).`,
    }),
    el('div', { className: 'table-scroll' }, table),
    legend(steps),
  );
}

/** The machine's phases as segments: each from the step before to the step, in its step's colour. */
function bar(at: ProvisionTimeline['machines'][number]['at'], steps: readonly Step[], maxMs: number) {
  const box = el('div', { className: 'provision-bar' });
  Object.assign(box.style, {
    position: 'relative',
    width: '280px',
    height: '14px',
    background: 'var(--bg-alt)',
    border: '1px solid var(--line)',
  });
  let from = 0;
  let previous = 'request';
  steps.forEach((s, i) => {
    const ms = at[s.step];
    if (ms === undefined) return;
    const seg = el('span', { className: 'phase' });
    seg.dataset.step = s.step;
    seg.title = `${previous} → ${s.title}: ${seconds(ms - from)} s (at ${seconds(ms)} s)`;
    Object.assign(seg.style, {
      position: 'absolute',
      top: '0',
      bottom: '0',
      left: pct(from, maxMs),
      width: pct(Math.max(0, ms - from), maxMs),
      background: COLOURS[i % COLOURS.length]!,
    });
    box.append(seg);
    from = Math.max(from, ms);
    previous = s.title;
  });
  return box;
}

function legend(steps: readonly Step[]): HTMLElement {
  const p = el('p', { className: 'provision-legend chart-note' });
  steps.forEach((s, i) => {
    const swatch = el('span');
    Object.assign(swatch.style, {
      display: 'inline-block',
      width: '10px',
      height: '10px',
      margin: '0 4px 0 12px',
      background: COLOURS[i % COLOURS.length]!,
    });
    p.append(swatch, document.createTextNode(`until ${s.title}`));
  });
  return p;
}

function pct(ms: number, maxMs: number): string {
  return `${maxMs > 0 ? (100 * ms) / maxMs : 0}%`;
}

/** The same precision as `results --provision`: ms under 10 s. */
function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(3) : (ms / 1000).toFixed(1);
}
