/**
 * The web UI's page and stylesheet. The page is static: no inline script or style (the
 * Content-Security-Policy forbids both); src/web/app-main.ts builds everything in it.
 */
import { PICTURES_CSS } from '../report/html/style.js';

export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>benchyard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/echarts.min.js" defer></script>
<script src="/assets/app.js" defer></script>
</head>
<body>
<header>
<a class="brand" href="#/runs">benchyard</a>
<nav>
<a href="#/runs" data-view="runs">Runs</a>
<a href="#/compare" data-view="compare">Compare</a>
<a href="#/trend" data-view="trend">Trend</a>
<a href="#/pools" data-view="pools">Pools</a>
</nav>
<span id="conn" class="conn"></span>
</header>
<main id="app"><p class="muted">Loading…</p></main>
</body>
</html>
`;

export const APP_CSS = `
:root { --fg: #1d2330; --muted: #6b7280; --line: #e3e6eb; --accent: #2f6fd0; --ok: #17612a; --bad: #9b1c1c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #f7f8fa; }
header { display: flex; align-items: center; gap: 24px; padding: 10px 20px; background: #1d2330; color: #fff; }
header a { color: #cfd6e4; text-decoration: none; }
header a.brand { color: #fff; font-weight: 600; }
header nav { display: flex; gap: 16px; }
header nav a.active { color: #fff; border-bottom: 2px solid #7fb0ff; }
.conn { margin-left: auto; font-size: 12px; color: #cfd6e4; }
main { padding: 16px 20px 40px; max-width: 1400px; }
header { flex-wrap: wrap; }
h1 { font-size: 20px; margin: 4px 0 12px; }
h2 { font-size: 16px; margin: 20px 0 8px; }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.error { color: var(--bad); background: #fbdcdc; padding: 8px 12px; border-radius: 4px; }
.status { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px; font-weight: 600; }
.status-running { background: #dbe8fb; color: #1f4f99; }
.status-passed { background: #d9f2dc; color: var(--ok); }
.status-failed, .status-error { background: #fbdcdc; color: var(--bad); }
.status-cancelled, .status-incomplete, .status-pending { background: #eceef1; color: #555; }
.run-state { display: flex; align-items: center; gap: 12px; margin-bottom: 4px; }
.progress-wrap { display: flex; align-items: center; }
.progress { position: relative; width: 160px; height: 14px; background: #e6e9ee; border-radius: 7px; overflow: hidden; }
.progress > div { height: 100%; background: var(--accent); transition: width .3s; }
.progress-text { font-size: 12px; margin-left: 6px; }
.cell-charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(420px, 100%), 1fr)); gap: 12px; margin-bottom: 16px; }
.cell-charts h3 { grid-column: 1 / -1; font-size: 14px; margin: 8px 0 0; }
.chart { background: #fff; border: 1px solid var(--line); padding: 8px; }
.chart-title { font-weight: 600; margin-bottom: 4px; }
form.compare-form { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; margin-bottom: 12px; }
form.compare-form label { display: flex; flex-direction: column; gap: 2px; font-size: 12px; color: var(--muted); }
select, input, button { font: inherit; padding: 3px 6px; }
select[multiple] { min-width: 320px; min-height: 110px; }
.compare-notes { margin: 8px 0; padding-left: 20px; }
.compare-notes .warning { color: #8a5a00; }
td.verdict[data-verdict="better"] { font-weight: 600; }
td.verdict[data-verdict="worse"] { font-weight: 600; }
a.tag { font-size: 12px; padding: 0 5px; border-radius: 3px; background: #eef1f5; color: #1f4f99; text-decoration: none; }
select[multiple] { max-width: 100%; }
ul.chart-notes { padding-left: 20px; margin: 4px 0 12px; }
${PICTURES_CSS}`;
