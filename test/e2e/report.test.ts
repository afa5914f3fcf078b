import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockNetwork, launchBrowser, pageProblems, screenshotPath } from '../helpers/browser.js';
import { ROOT } from '../helpers/catalog.js';
import { cli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-report-'));
const state = path.join(work, 'state');

/** The part of HTMLCanvasElement the pixel check uses (this file has no DOM lib). */
interface Canvas {
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

function embedded(file: string) {
  const html = readFileSync(file, 'utf8');
  return JSON.parse(/<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1]!);
}

describe('benchyard report on a real run', () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    // `npm run build` makes dist/web; bundling again (quick) lets this file run alone.
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/bundle-web.mjs')], { cwd: ROOT });
    writeFileSync(
      path.join(work, 'm.yaml'),
      `name: report-e2e
repetitions: 3
concurrency: 1
metrics: { interval: 200ms }
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2], time: 1 }
`,
    );
    const run = await cli(['run', 'm.yaml', '--state', state], { cwd: work });
    expect(run.code, run.stderr).toBe(0);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('report --by writes one offline HTML file that draws every chart without the network', async () => {
    const out = path.join(work, 'out.html');
    const res = await cli(['report', '--by', 'param:threads', '--html', out, '--state', state], {
      cwd: work,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/wrote .*out\.html \(\d+(\.\d)? (kB|MB)\)/);
    const bytes = statSync(out).size;
    expect(bytes).toBeLessThan(3 * 1024 * 1024);
    console.log(`report: ${(bytes / 1024).toFixed(0)} kB`);
    const model = embedded(out);
    expect(model.comparison.rows).toHaveLength(3); // events_per_second, latency_avg, latency_p95

    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems = pageProblems(page);
    const network = await blockNetwork(page);
    await page.goto(pathToFileURL(out).href);
    // (A string: this file is type-checked without the DOM lib.)
    await page.waitForFunction(
      `document.querySelectorAll('.box-plot').length > 0 &&
       [...document.querySelectorAll('.box-plot')].every((e) => e.getAttribute('data-chart') === 'drawn') &&
       document.querySelector('.series[data-chart="drawn"]') !== null`,
      undefined,
      { timeout: 15_000 },
    );

    // Pictures first: a summary chart per score (a bar per group), then the hardware;
    // one box plot per compared score; the compare table has a row per group per score.
    expect(await page.locator('.summary-chart').count()).toBe(3);
    expect(await page.locator('section').first().getAttribute('class')).toBe('summary');
    expect(await page.locator('section').nth(1).getAttribute('class')).toBe('hardware');
    expect(await page.locator('.box-plot').count()).toBe(3);
    const groups = await page
      .locator('table.compare-table tbody tr:not([data-energy]) td:nth-child(3)')
      .allTextContents();
    expect(groups).toEqual(['1', '2', '1', '2', '1', '2']);
    // The adjusted p's column (its name says the correction: src/analysis decides which).
    const heads = await page.locator('table.compare-table thead th').allTextContents();
    expect(heads.some((h) => /^p \(/.test(h))).toBe(true);
    expect(await page.locator('section.cost').textContent()).toContain('no price recorded');
    expect(await page.locator('header').textContent()).toContain('report-e2e');

    // Something was painted: the first box plot's canvas has many non-white pixels.
    const inked = await page
      .locator('.box-plot canvas')
      .first()
      .evaluate((canvas: Canvas) => {
        const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4)
          if (px[i + 3]! > 0 && px[i]! + px[i + 1]! + px[i + 2]! < 600) n++;
        return n;
      });
    expect(inked).toBeGreaterThan(500);

    await page.screenshot({ path: screenshotPath('report'), fullPage: true });
    expect(problems).toEqual([]);
    expect(network).toEqual([]);
  });

  it('without --by: results, box plots by target and time series, no compare table', async () => {
    const out = path.join(work, 'plain.html');
    const res = await cli(['report', '--html', out, '--state', state], { cwd: work });
    expect(res.code, res.stderr).toBe(0);
    const model = embedded(out);
    expect(model.comparison).toBeUndefined();
    expect(model.boxPlots.axis).toBe('target');
    expect(model.summary.axis).toBe('target');
    expect(model.summary.charts.map((c: { score: string }) => c.score)).toContain('events_per_second');
    expect(model.boxPlots.charts.length).toBeGreaterThan(0);
    expect(model.cells).toHaveLength(2);
    expect(model.series).toHaveLength(2);
    expect(model.series[0].repetitions).toHaveLength(3);
    expect(model.series[0].repetitions[0].charts.length).toBeGreaterThan(0);
    expect(model.series[0].repetitions[0].charts.length).toBeLessThanOrEqual(8);
  });

  it('bad input is exit 2 with a clear message', async () => {
    const out = path.join(work, 'never.html');
    const [missing, axis, baseline] = await Promise.all([
      cli(['report', '--run', 'nosuchrun', '--html', out, '--state', state]),
      cli(['report', '--by', 'colour', '--html', out, '--state', state]),
      cli(['report', '--by', 'param:threads', '--baseline', '7', '--html', out, '--state', state]),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/error: no run 'nosuchrun' in '.*state'/);
    expect(axis.code).toBe(2);
    expect(axis.stderr).toMatch(/--by 'colour': expected one of/);
    expect(baseline.code).toBe(2);
    expect(baseline.stderr).toMatch(/baseline '7' is not among the groups \(1, 2\)/);
    expect(() => statSync(out)).toThrow();
  });
});
