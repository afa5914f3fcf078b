/**
 * The pictures' styles, shared by the offline report and `serve`'s page: chart grids that
 * fit an 800 px window without a horizontal scrollbar (wide tables scroll inside their box).
 */
export const PICTURES_CSS = `
.table-scroll { overflow-x: auto; max-width: 100%; }
.chart { min-width: 0; }
.chart-title { font-weight: 600; font-size: 13px; margin-bottom: 4px; overflow-wrap: anywhere; }
.chart-note { margin: 4px 0 8px; font-size: 13px; }
.chart-subtitle { font-size: 12px; color: var(--muted); margin: -2px 0 2px; }
.summary-charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(560px, 100%), 1fr)); gap: 16px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(420px, 100%), 1fr)); gap: 16px; }
.time-series .charts { grid-template-columns: repeat(auto-fill, minmax(min(360px, 100%), 1fr)); }
table.hardware-table th:first-child { white-space: nowrap; }
table.hardware-table td { overflow-wrap: anywhere; min-width: 10em; }
table.hardware-table tr.differs th, table.hardware-table tr.differs td { background: #fff4d6; }
label.toggle { display: inline-block; margin: 0 0 8px; font-size: 13px; cursor: pointer; }
p.constant-series { font-size: 12px; margin: 4px 0 8px; overflow-wrap: anywhere; }
details.cell { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 0 12px; }
details.cell > summary { cursor: pointer; padding: 8px 0; font-weight: 600; overflow-wrap: anywhere; }
details.cell[open] > summary { border-bottom: 1px solid var(--line); margin-bottom: 8px; }
td.verdict-better { background: #d9f2dc; color: #17612a; font-weight: 600; }
td.verdict-worse { background: #fbdcdc; color: #9b1c1c; font-weight: 600; }
`;

/** The report's stylesheet: light, plain, printable. */
export const REPORT_CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
main { max-width: 1400px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
.muted { color: var(--muted); }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td.num { text-align: right; }
td.verdict[data-verdict="better"] { background: #d9f2dc; color: #17612a; font-weight: 600; }
td.verdict[data-verdict="worse"] { background: #fbdcdc; color: #9b1c1c; font-weight: 600; }
.status-passed { color: #17612a; } .status-failed, .status-error, .status-cancelled { color: #9b1c1c; }
ul.compare-notes, ul.notes, ul.run-lines { margin: 6px 0; padding-left: 20px; }
ul.run-lines { overflow-wrap: anywhere; }
li.warning { color: #8a4b00; }
td.scores { white-space: pre-line; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.failures { color: #9b1c1c; }
@media (max-width: 900px) { main { padding: 16px 16px 48px; } }
@media print { details.cell { break-inside: avoid; } }
${PICTURES_CSS}`;
