/**
 * The energy section the offline report and a finished run's page share: what the figures
 * are and which groups have none, a summary chart per benchmark and figure (joules per
 * repetition, score per joule) with the comparison's intervals as whiskers, then the
 * figures as the compare table shows them. From src/report/html/energy.ts's JSON.
 */
import { compareRowCells } from '../report/compare-cells.js';
import type { EnergyPictures } from '../report/html/energy.js';
import { drawSummaryChart } from './bar-charts.js';
import { el, textTable, type Cell } from './dom.js';
import { onceAttached } from './pictures.js';

export function energySection(p: EnergyPictures | undefined, whiskers: string): HTMLElement | undefined {
  if (!p) return undefined;
  const s = el('section', { className: 'energy' }, el('h2', { text: `Energy by ${p.axis}` }));
  s.append(el('ul', { className: 'notes energy-notes' }, ...p.notes.map(noteItem)));
  if (p.rows.length === 0) return s;
  s.append(
    el('p', {
      className: 'muted chart-note',
      text: `bars: median per ${p.axis} from zero (baseline ${p.baseline}); ${whiskers}`,
    }),
  );
  const grid = el('div', { className: 'summary-charts' });
  s.append(grid);
  const boxes = p.charts.map(() => grid.appendChild(el('div', { className: 'chart energy-chart' })));
  onceAttached(s, () => p.charts.forEach((d, i) => drawSummaryChart(boxes[i]!, d)));
  const rows = p.rows.flatMap((row) =>
    row.groups.map((g): Cell[] => {
      const cells: Cell[] = compareRowCells(row, g, false);
      const verdict = cells.length - 1;
      cells[verdict] = { text: String(cells[verdict]), className: `verdict verdict-${g.verdict ?? 'none'}` };
      return cells;
    }),
  );
  s.append(textTable(p.head, rows, 'energy-table'));
  return s;
}

function noteItem(line: string): HTMLElement {
  return el('li', { text: line, ...(line.startsWith('warning:') ? { className: 'warning' } : {}) });
}
