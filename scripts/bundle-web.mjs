#!/usr/bin/env node
// Bundles each browser entry, src/web/<name>-main.ts, into one script, dist/web/<name>.js
// (IIFE, minified), which the HTML report inlines and the web UI serves. ECharts is not
// bundled: pages load node_modules/echarts/dist/echarts.min.js, which sets the global.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entries = readdirSync(path.join(root, 'src/web'))
  .filter((f) => f.endsWith('-main.ts'))
  .map((f) => ({ in: path.join(root, 'src/web', f), out: f.slice(0, -'-main.ts'.length) }));

await build({
  entryPoints: entries,
  outdir: path.join(root, 'dist/web'),
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
