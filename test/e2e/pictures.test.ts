/**
 * Pictures first, checked in headless Chromium at 1400 and 800 px: the report and a
 * finished run's page in `serve` open with the summary charts (above every table), fit an
 * 800 px window without a horizontal scrollbar, leave constant metrics out (named in one
 * line), draw short repetitions as dots, start box plots at zero on request; the trend
 * view marks the change point of a tagged history. Screenshots go to this test's temp
 * folder, their sizes and the measured positions to the log.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { ROOT } from '../helpers/catalog.js';
import { cli, startCli, until, type BackgroundCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-pictures-'));
const state = path.join(work, 'state');
const WIDTHS = [1400, 800] as const;
let browser: Browser | undefined;
let server: BackgroundCli | undefined;
let cpuRun = '';

/** What the page measures of itself (document coordinates, px). */
interface Layout {
  scrollWidth: number;
  clientWidth: number;
  height: number;
  summary: Box | null;
  firstTable: Box | null;
  summaryCharts: number;
}
interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

// A string: this file is type-checked without the DOM lib.
const MEASURE = `(() => {
  const box = (e) => {
    if (!e) return null;
    const r = e.getBoundingClientRect();
    return { x: Math.round(r.x), y: Math.round(r.y + scrollY), width: Math.round(r.width), height: Math.round(r.height) };
  };
  const s = document.scrollingElement;
  return {
    scrollWidth: s.scrollWidth,
    clientWidth: s.clientWidth,
    height: s.scrollHeight,
    summary: box(document.querySelector('.summary-chart')),
    firstTable: box(document.querySelector('table')),
    summaryCharts: document.querySelectorAll('.summary-chart').length,
  };
})()`;

/** Opens `url` at `width`, waits for `ready`, measures, and saves a full-page screenshot. */
async function look(
  url: string,
  width: number,
  ready: string,
  name: string,
): Promise<{ page: Page; layout: Layout }> {
  const page = await browser!.newPage({ viewport: { width, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  await page.goto(url);
  // Polled with evaluate (the DevTools protocol): serve's CSP forbids the eval waitForFunction does.
  await until(async () => ((await page.evaluate(ready)) ? true : undefined), 30_000, `${name}: ${ready}`);
  const layout = (await page.evaluate(MEASURE)) as Layout;
  const file = path.join(work, `${name}-${width}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const summary = layout.summary
    ? `first summary chart at y=${layout.summary.y} (${layout.summary.width}×${layout.summary.height}), ${layout.summaryCharts} summary charts, `
    : '';
  console.log(
    `${name} @${width}px: page ${layout.clientWidth}×${layout.height}, screenshot ${(statSync(file).size / 1024).toFixed(0)} kB (${file}); ` +
      `${summary}first table at y=${layout.firstTable?.y}; scrollWidth ${layout.scrollWidth}`,
  );
  expect(problems).toEqual([]);
  return { page, layout };
}

/** Pictures first: a summary chart exists and starts above the first table; nothing wider than the window. */
function expectPicturesFirst(layout: Layout): void {
  expect(layout.summary).not.toBeNull();
  expect(layout.firstTable).not.toBeNull();
  expect(layout.summary!.y + layout.summary!.height).toBeLessThanOrEqual(layout.firstTable!.y);
  expect(layout.scrollWidth).toBeLessThanOrEqual(layout.clientWidth);
}

const SUMMARY_DRAWN = `document.querySelectorAll('.summary-chart').length > 0 &&
  [...document.querySelectorAll('.summary-chart')].every((e) => e.getAttribute('data-chart') === 'drawn') &&
  document.querySelector('.series[data-chart="drawn"]') !== null`;

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/bundle-web.mjs')], { cwd: ROOT });
  // A CPU benchmark with 1 s repetitions sampled every 200 ms: few points, disks idle.
  writeFileSync(
    path.join(work, 'cpu.yaml'),
    `name: pictures-cpu
repetitions: 3
concurrency: 1
metrics: { interval: 200ms, gpu: false }
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2], time: 1 }
`,
  );
  const run = await cli(['run', 'cpu.yaml', '--state', state], { cwd: work });
  expect(run.code, run.stderr).toBe(0);
  cpuRun = /run (\S+) \(pictures-cpu\): passed/.exec(run.stdout + run.stderr)![1]!;

  // A nightly history: the same cell scoring 100 for four runs, then 150 for four.
  for (const v of [100, 150])
    writeFileSync(
      path.join(work, `nightly-${v}.yaml`),
      `name: pictures-nightly
repetitions: 2
metrics: { interval: 1s, gpu: false }
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark:
      name: echo-score
      image: benchyard/bench-tools:1
      command: ["echo", "value ${v}"]
      network: none
      scores: [{ name: value, unit: ops/s, direction: higher, regex: 'value ([0-9.]+)' }]
`,
    );
  for (const v of [100, 100, 100, 100, 150, 150, 150, 150]) {
    const r = await cli(['run', `nightly-${v}.yaml`, '--state', state, '--tag', 'nightly'], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
  }
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (server && server.child.exitCode === null && server.child.signalCode === null)
    server.child.kill('SIGKILL');
});

describe('pictures first, in Chromium at 1400 and 800 px', () => {
  it('the report: summary above every table, hardware side by side, constant metrics named, dots for short repetitions, box plots from zero on request', async () => {
    const out = path.join(work, 'report.html');
    const res = await cli(
      ['report', '--by', 'param:threads', '--html', out, '--state', state, '--run', cpuRun],
      {
        cwd: work,
      },
    );
    expect(res.code, res.stderr).toBe(0);
    for (const width of WIDTHS) {
      const { page, layout } = await look(pathToFileURL(out).href, width, SUMMARY_DRAWN, 'report');
      expectPicturesFirst(layout);
      // One chart per score of sysbench-cpu, a bar per threads value.
      expect(layout.summaryCharts).toBe(3);
      expect(await page.locator('.summary-chart').first().getAttribute('data-groups')).toBe('2');
      // The hardware table comes right after the summary, a column per group.
      expect(await page.locator('table').first().getAttribute('class')).toBe('hardware-table');
      expect(await page.locator('table.hardware-table thead th').allTextContents()).toEqual(['', '1', '2']);
      // The disks of a CPU benchmark never moved: named in one line, not charted.
      const constant = await page.locator('.constant-series').first().textContent();
      // Which disk series never moved depends on the page cache (a cold one reads the binary once).
      expect(constant).toMatch(/^constant, not charted: .*container\.disk\.\w+\.(bytes|ops)_per_sec = 0/);
      const titles = await page.locator('.time-series .chart-title').allTextContents();
      expect(titles.some((t) => t.startsWith('container.cpu.usage.cores'))).toBe(true);
      // The constant one is not charted (another disk series may move on a cold page cache).
      const constantName = /container\.disk\.[\w.]+(?= = 0)/.exec(constant ?? '')![0];
      expect(titles.some((t) => t.startsWith(constantName))).toBe(false);
      // ~5 samples per 1 s repetition: dots, not lines.
      expect(await page.locator('.series[data-mode="points"]').count()).toBeGreaterThan(0);
      expect(await page.locator('.series[data-mode="line"]').count()).toBe(0);
      if (width === 1400) {
        // Box plots over the data's range by default; the toggle starts every value axis at zero.
        const yMin = `[...document.querySelectorAll('.box-plot .chart-area')].map((a) =>
          echarts.getInstanceByDom(a).getModel().getComponent('yAxis').axis.scale.getExtent()[0])`;
        expect(((await page.evaluate(yMin)) as number[]).some((m) => m > 0)).toBe(true);
        await page.locator('.box-plots input.from-zero').check();
        await until(
          async () =>
            (await page.evaluate(
              `[...document.querySelectorAll('.box-plot')].every((e) => e.getAttribute('data-from-zero') === 'true')`,
            ))
              ? true
              : undefined,
          5000,
          'the box plots to start at zero',
        );
        expect(await page.evaluate(yMin)).toEqual([0, 0, 0]);
      }
      await page.close();
    }
  }, 90_000);

  it("serve: a finished run's page shows its summary, hardware, box plots and metric charts, summary above every table", async () => {
    server = startCli(['serve', '--port', '0', '--state', state], work);
    const url = await until(
      async () => /benchyard serve: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(server!.out().stderr)?.[1],
      15_000,
      'the server to print its URL',
    );
    for (const width of WIDTHS) {
      const { page, layout } = await look(
        `${url}#/runs/${encodeURIComponent(cpuRun)}`,
        width,
        `document.querySelector('section.run-view[data-pictures="shown"]') !== null && ${SUMMARY_DRAWN}`,
        'serve-run',
      );
      expectPicturesFirst(layout);
      // Three scores; a score whose cells differ more than tenfold (latency at 1 and 2 threads on
      // a busy 2-core machine may) is drawn a chart per cell.
      expect(layout.summaryCharts).toBeGreaterThanOrEqual(3);
      // By target (one group): one bar per cell, threads 1 and 2.
      expect(await page.locator('.summary-chart').first().getAttribute('data-cells')).toBe('2');
      // A box plot per cell and score: 2 × 3.
      expect(await page.locator('.box-plot').count()).toBe(6);
      await until(
        async () => ((await page.locator('.box-plot[data-chart="drawn"]').count()) === 6 ? true : undefined),
        10_000,
        'the box plots to be drawn',
      );
      expect(await page.locator('.constant-series').first().textContent()).toMatch(/container\.disk\./);
      await page.close();
    }
  }, 90_000);

  it('serve: the trend of a tagged history, a point per run, the change point marked', async () => {
    const url = await until(
      async () => /benchyard serve: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(server!.out().stderr)?.[1],
      15_000,
      'the server to print its URL',
    );
    const tags = (await (await fetch(`${url}api/tags`)).json()) as { tag: string; runs: number }[];
    expect(tags).toEqual([expect.objectContaining({ tag: 'nightly', runs: 8 })]);
    for (const width of WIDTHS) {
      const { page, layout } = await look(
        `${url}#/trend?tag=nightly`,
        width,
        `document.querySelector('.trend-chart[data-chart="drawn"]') !== null`,
        'serve-trend',
      );
      expect(layout.scrollWidth).toBeLessThanOrEqual(layout.clientWidth);
      const chart = page.locator('.trend-chart');
      expect(await chart.count()).toBe(1);
      expect(await chart.getAttribute('data-points')).toBe('8');
      expect(await chart.getAttribute('data-change-points')).toBe('1');
      expect(await page.locator('table.trend-runs tbody tr').count()).toBe(8);
      expect(await page.locator('.trend-view').textContent()).toMatch(
        /change points \(dashed red, 1 found\): E-divisive/,
      );
      await page.close();
    }
    // From the runs list: a run's tag links to its trend.
    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${url}#/runs`);
    await page.locator('tr[data-run] a.tag').first().click();
    await page.locator('.trend-chart[data-chart="drawn"]').waitFor({ timeout: 20_000 });
    expect(page.url()).toMatch(/#\/trend\?tag=nightly$/);
    await page.close();

    expect((await fetch(`${url}api/trend`)).status).toBe(400);
    expect((await fetch(`${url}api/trend?tag=nightly&runs=1`)).status).toBe(400);
    expect((await fetch(`${url}api/runs/nosuchrun/charts`)).status).toBe(404);
    server!.child.kill('SIGTERM');
    expect(await server!.exited).toBe(0);
  }, 60_000);
});
