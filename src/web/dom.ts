/** Building DOM from data as text only: no markup is ever parsed from a value. */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className) e.className = props.className;
  if (props.text !== undefined) e.textContent = props.text;
  e.append(...children);
  return e;
}

export type Cell = string | { text: string; className?: string };

/** A table of text cells (in a scrolling wrapper for wide tables). */
export function textTable(
  head: readonly string[],
  rows: readonly (readonly Cell[])[],
  className = '',
): HTMLElement {
  const table = el('table', { className });
  const hr = table.createTHead().insertRow();
  for (const h of head) hr.append(el('th', { text: h }));
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const c of row) {
      const td = tr.insertCell();
      if (typeof c === 'string') td.textContent = c;
      else {
        td.textContent = c.text;
        if (c.className) td.className = c.className;
      }
    }
  }
  return el('div', { className: 'table-scroll' }, table);
}

/** `2024-05-01T12:00:00.000Z` → `2024-05-01 12:00:00 UTC` (the same for every reader). */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : iso;
}
