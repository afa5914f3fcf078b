/**
 * Energy as an analyst sees it: a stored run whose repetitions measured energy (seeded
 * through SqliteStore: this machine has no readable energy source), then `compare` shows
 * joules per repetition and score per joule with their intervals, and the HTML report and
 * a run's page in `serve` show them, checked in headless Chromium with the network blocked.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepetitionResult } from '../../src/core/index.js';
import { blockNetwork, launchBrowser, pageProblems, screenshotPath } from '../helpers/browser.js';
import { ROOT } from '../helpers/catalog.js';
import { cli, startCli, until, type BackgroundCli } from '../helpers/cli.js';
import { repetitionResult } from '../helpers/results.js';
import { seededCell, seedRun, seedTime } from '../helpers/seeded-run.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-energy-'));
const state = path.join(work, 'state');
const RUN = 'r-energy';
const NO_RAPL = 'no RAPL domain readable: permission denied';
let browser: Browser | undefined;
let server: BackgroundCli | undefined;

/**
 * Repetition i (1..5) of `threads`, 2 s long, one after another: 1 thread does ~1000
 * events/s at ~100 W, 2 threads ~1900 events/s at ~150 W (more work per joule); 4 threads
 * measured no energy.
 */
function result(threads: number, i: number): RepetitionResult {
  const speed = { 1: 1000, 2: 1900, 4: 3000 }[threads]! + i;
  const joules = { 1: 200, 2: 300, 4: 0 }[threads]! + 2 * i;
  const start = (threads * 10 + i) * 3000;
  return repetitionResult({
    runId: RUN,
    cellId: `cell-${threads}`,
    repetition: i,
    benchmark: 'sysbench-cpu',
    params: { threads },
    machineId: 'local:vm',
    startedAt: seedTime(start),
    finishedAt: seedTime(start + 2000),
    durationMs: 2000,
    scores: [
      { name: 'events_per_second', value: speed, unit: 'events/s', direction: 'higher' },
      { name: 'latency_avg', value: (1000 * threads) / speed, unit: 'ms', direction: 'lower' },
    ],
    metrics:
      threads === 4
        ? { samples: 0, energyMissing: NO_RAPL }
        : {
            samples: 0,
            energy: { joules, cpuJoules: joules * 0.8, dramJoules: joules * 0.2, sources: {} },
          },
  });
}

beforeAll(async () => {
  // `npm run build` makes dist/web; bundling again (quick) lets this file run alone.
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/bundle-web.mjs')], { cwd: ROOT });
  const cells = [1, 2, 4].map((threads) =>
    seededCell({
      id: `cell-${threads}`,
      index: threads,
      benchmark: 'sysbench-cpu',
      target: 'here',
      params: { threads },
    }),
  );
  const results = [1, 2, 4].flatMap((threads) => [1, 2, 3, 4, 5].map((i) => result(threads, i)));
  await seedRun(state, { id: RUN, name: 'energy-e2e' }, cells, results);
}, 60_000);

afterAll(async () => {
  if (server && server.child.exitCode === null && server.child.signalCode === null)
    server.child.kill('SIGTERM');
  await browser?.close();
});

describe('energy in compare, report and serve', () => {
  it('compare shows joules per repetition and score per joule with a CI; a group without energy says why', async () => {
    const args = ['compare', '--run', RUN, '--by', 'param:threads', '--state', state];
    const json = await cli([...args, '--format', 'json'], { cwd: work });
    expect(json.code, json.stderr).toBe(0);
    const c = JSON.parse(json.stdout);
    const perJoule = c.energy.rows.find((r: { score: string }) => r.score === 'events_per_second per joule');
    expect(perJoule).toMatchObject({ unit: 'events/J', direction: 'higher', energy: 'per-joule' });
    // 1 thread: 1003 events/s at 206 J over 2 s (103 W) → 9.738 events/J (the medians').
    expect(perJoule.groups[0]).toMatchObject({ group: '1', n: 5 });
    expect(perJoule.groups[0].median).toBeCloseTo(1003 / 103, 9);
    // 2 threads: more work per joule in every repetition, so better, the CI above 0.
    expect(perJoule.groups[1]).toMatchObject({ group: '2', n: 5, verdict: 'better', method: 'exact' });
    expect(perJoule.groups[1].ci.low).toBeGreaterThan(0);
    expect(perJoule.groups[1].ci.low).toBeLessThanOrEqual(perJoule.groups[1].diffPct);
    expect(perJoule.groups[2]).toMatchObject({ group: '4', n: 0 });
    expect(perJoule.groups[2].ci).toBeUndefined();
    const joules = c.energy.rows.find((r: { score: string }) => r.score === 'joules per repetition');
    expect(joules.groups[1]).toMatchObject({ verdict: 'worse', median: 306 });
    expect(c.energy.missing).toEqual([{ group: '4', measured: 0, of: 5, reasons: [NO_RAPL] }]);

    const table = await cli([...args, '--wide'], { cwd: work });
    expect(table.code, table.stderr).toBe(0);
    console.log(table.stdout);
    expect(table.stdout).toMatch(
      /│ events_per_second per joule \(events\/J, higher is better; energy\) +│ 2 +│ 5 +│ [\d.]+ +│.*│ \[\+\d+\.\d\d, \+\d+\.\d\d\] 95% +│ 0\.00794 +│ better +│/,
    );
    expect(table.stdout).toMatch(
      /│ joules per repetition \(J, lower is better; energy\) +│ 4 +│ 0 +│.*│ n\/a +│/,
    );
    expect(table.stdout).toContain(`energy n/a for 4: ${NO_RAPL}`);
  });

  it('report --html shows the energy charts and table, drawn offline in Chromium', async () => {
    const out = path.join(work, 'energy.html');
    const res = await cli(
      ['report', '--run', RUN, '--by', 'param:threads', '--html', out, '--state', state],
      { cwd: work },
    );
    expect(res.code, res.stderr).toBe(0);
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems = pageProblems(page);
    const network = await blockNetwork(page);
    await page.goto(pathToFileURL(out).href);
    await page.waitForFunction(ENERGY_DRAWN, undefined, { timeout: 15_000 });

    // Joules per repetition, events per joule, latency's energy per result: a chart each.
    expect(await page.locator('section.energy .energy-chart').count()).toBe(3);
    const figures = await page.locator('section.energy table tbody tr td:nth-child(2)').allTextContents();
    expect(new Set(figures)).toEqual(
      new Set([
        'joules per repetition (J, lower is better; energy)',
        'events_per_second per joule (events/J, higher is better; energy)',
        'latency_avg energy per result (mJ, lower is better; energy)',
      ]),
    );
    const better = page.locator('section.energy table tbody tr', { hasText: 'per joule' }).nth(1);
    expect(await better.locator('td').nth(2).textContent()).toBe('2');
    expect(await better.locator('td').nth(8).textContent()).toMatch(/^\[\+\d+\.\d\d, \+\d+\.\d\d\] 95%$/);
    expect(await better.locator('td.verdict-better').textContent()).toBe('better');
    expect(await page.locator('section.energy .energy-notes').textContent()).toContain(
      `energy n/a for 4: ${NO_RAPL}`,
    );
    // The compare table carries the same rows; the results table a column of median joules.
    expect(await page.locator('table.compare-table tr[data-energy="per-joule"]').count()).toBe(3);
    expect(await page.locator('table.cells thead').textContent()).toContain('J per repetition (median)');
    expect(await page.locator('table.cells tbody').textContent()).toContain('206.0 J');

    await page.screenshot({ path: screenshotPath('energy-report'), fullPage: true });
    expect(problems).toEqual([]);
    expect(network).toEqual([]);
    await page.close();
  }, 60_000);

  it("serve: a finished run's page shows its energy, and /api/compare answers it", async () => {
    server = startCli(['serve', '--port', '0', '--state', state], work);
    const url = await until(
      async () => /benchyard serve: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(server!.out().stderr)?.[1],
      15_000,
      'the server to print its URL',
    );
    const api = (await (await fetch(`${url}api/compare?run=${RUN}&by=param:threads`)).json()) as {
      energy: { rows: { score: string; groups: { verdict?: string }[] }[] };
    };
    expect(api.energy.rows.find((r) => r.score === 'events_per_second per joule')!.groups[1]!.verdict).toBe(
      'better',
    );

    browser ??= await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = pageProblems(page);
    await page.goto(`${url}#/runs/${RUN}`);
    // Polled with evaluate: serve's CSP forbids the eval waitForFunction does.
    await until(async () => ((await page.evaluate(ENERGY_DRAWN)) ? true : undefined), 30_000, 'energy drawn');
    // By target (one group, `here`): medians, no comparison.
    const text = await page.locator('section.energy table').textContent();
    expect(text).toContain('events_per_second per joule');
    expect(await page.locator('section.energy table tbody tr td:nth-child(3)').first().textContent()).toBe(
      'here',
    );
    await page.screenshot({ path: screenshotPath('energy-serve-run'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});

// A string: this file is type-checked without the DOM lib.
const ENERGY_DRAWN = `document.querySelectorAll('section.energy .energy-chart').length > 0 &&
  [...document.querySelectorAll('section.energy .energy-chart')].every((e) => e.getAttribute('data-chart') === 'drawn')`;
