/** What the web UI's views share: reading the API, and the small widgets every view shows. */
import { el } from './dom.js';

/** A view in `#app`: its element and what to stop (streams, charts) when leaving it. */
export interface View {
  root: HTMLElement;
  dispose(): void;
}

export class ApiError extends Error {}

/** GETs a JSON API path (the session cookie goes along); the server's error message on failure. */
export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  const body = (await res.json().catch(() => undefined)) as { error?: string } | undefined;
  if (!res.ok) throw new ApiError(body?.error ?? `${res.status} ${res.statusText}`);
  return body as T;
}

export function statusBadge(status: string): HTMLElement {
  const s = el('span', { className: `status status-${status.replace(/[^a-z]/g, '')}`, text: status });
  s.dataset.status = status;
  return s;
}

/** A bar and "results / repetitions"; `update` changes both in place. */
export function progressBar(): { root: HTMLElement; update(done: number, total: number, p: number): void } {
  const fill = el('div');
  const text = el('span', { className: 'progress-text' });
  const bar = el('div', { className: 'progress' }, fill);
  const root = el('div', { className: 'progress-wrap' }, bar, text);
  return {
    root,
    update(done, total, p) {
      fill.style.width = `${Math.round(100 * Math.max(0, Math.min(1, p)))}%`;
      bar.dataset.progress = String(p);
      text.textContent = `${done} / ${total}`;
    },
  };
}

export function errorBox(err: unknown): HTMLElement {
  return el('p', { className: 'error', text: err instanceof Error ? err.message : String(err) });
}

export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return x.toExponential(3);
  return x.toLocaleString('en-US', { maximumFractionDigits: abs >= 100 ? 1 : 4 });
}

export function paramsText(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}
