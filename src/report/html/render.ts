/**
 * Assembles the offline HTML report: one file with the CSS, Apache ECharts, the bundled
 * client (dist/web/report.js, from src/web/report-main.ts) and the model as JSON. Only the
 * page title is written as HTML here (escaped); everything else the client builds as text.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { ReportModel } from './model.js';
import { REPORT_CSS } from './style.js';

export interface ReportAssets {
  /** Apache ECharts, a classic script that sets the global `echarts`. @default node_modules/echarts/dist/echarts.min.js */
  echarts?: string;
  /** The bundled client: `<package root>/dist/web/report.js` (the CLI knows where that is). */
  client: string;
}

export async function renderReportHtml(model: ReportModel, assets: ReportAssets): Promise<string> {
  const clientPath = assets.client;
  if (!existsSync(clientPath))
    throw new Error(`the report's client script is missing (${clientPath}): run npm run build`);
  const echartsPath = assets.echarts ?? createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
  const [echartsJs, clientJs] = await Promise.all([
    readFile(echartsPath, 'utf8'),
    readFile(clientPath, 'utf8'),
  ]);
  const names = [...new Set(model.runs.map((r) => r.name))].join(', ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="benchyard">
<title>${escapeHtml(`benchyard report${names ? ` — ${names}` : ''}`)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<noscript><p>This report draws its tables and charts with JavaScript; please enable it.</p></noscript>
<main id="report"></main>
<script type="application/json" id="report-data">${jsonForScript(model)}</script>
<script>${scriptText(echartsJs)}</script>
<script>${scriptText(clientJs)}</script>
</body>
</html>
`;
}

/** JSON that cannot end its <script> element: every `<` becomes \u003c (still the same JSON). */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );
}

/** A script inlined as is, unless it spells `</script` or `<!--` (which would end or confuse the element). */
function scriptText(js: string): string {
  return js.replace(/<(\/script|!--)/gi, '\\x3c$1');
}
