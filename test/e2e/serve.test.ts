/**
 * `benchyard serve` as a user sees it: the server on a free port, a real run writing to
 * the same state folder, the UI in headless Chromium following the run live (progress,
 * cells, metric charts) and then showing the finished run's pictures, then the comparison
 * of the finished run, then SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshotPath } from '../helpers/browser.js';
import { cli, startCli, until, type BackgroundCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-serve-e2e-'));
let browser: Browser | undefined;
const started: BackgroundCli[] = [];

afterAll(async () => {
  await browser?.close();
  for (const p of started)
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

/** The number before the slash of a "3 / 8" progress text. */
async function doneCount(page: Page, selector: string): Promise<number> {
  const text = (await page.locator(selector).first().textContent()) ?? '';
  return Number(/^(\d+) \//.exec(text)?.[1] ?? -1);
}

describe('benchyard serve', () => {
  it(
    'shows a run live while it runs, then its comparison; stops on SIGTERM',
    { timeout: 90_000 },
    async () => {
      writeFileSync(
        path.join(work, 'm.yaml'),
        `name: serve-e2e
repetitions: 4
metrics: {interval: 200ms, gpu: false}
targets: [{name: here, provider: local}]
benchmarks: [{benchmark: sysbench-cpu, params: {time: 3}}]
`,
      );
      const server = startCli(['serve', '--port', '0', '--state', work], work);
      started.push(server);
      const url = await until(
        async () => /benchyard serve: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(server.out().stderr)?.[1],
        15_000,
        'the server to print its URL',
      );

      browser = await launchBrowser();
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('response', (res) => {
        if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
      });
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });
      await page.goto(`${url}#/runs`);
      await page.locator('section.runs-view').waitFor();

      const run = startCli(['run', 'm.yaml', '--state', work], work);
      started.push(run);

      // The run appears (the list rereads itself) as running, and its progress grows without a reload.
      const row = page.locator('tr[data-run][data-status="running"]');
      await row.waitFor({ timeout: 30_000 });
      const runId = (await row.getAttribute('data-run'))!;
      const before = await doneCount(page, `tr[data-run="${runId}"] .progress-text`);
      await until(
        async () =>
          (await doneCount(page, `tr[data-run="${runId}"] .progress-text`)) > before ? true : undefined,
        30_000,
        'the progress in the runs list to grow',
      );

      // The run view: cells and a live chart of the running cell's container.
      await page.locator(`tr[data-run="${runId}"] a`).click();
      await page.locator('section.run-view tr[data-cell]').waitFor();
      const doneBefore = await doneCount(page, 'section.run-view .progress-text');
      await page.locator('.cell-charts .chart[data-chart="drawn"]').first().waitFor({ timeout: 20_000 });
      const blank = await page.evaluate(`(() => {
      const c = document.querySelector('.cell-charts canvas');
      if (!c) return true;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return false;
      return true;
    })()`);
      expect(blank).toBe(false);
      await page.screenshot({ path: screenshotPath('serve-run'), fullPage: true });

      // Finished: passed, every repetition counted, without a reload.
      await page.locator('section.run-view[data-status="passed"]').waitFor({ timeout: 40_000 });
      expect(await doneCount(page, 'section.run-view .progress-text')).toBeGreaterThan(doneBefore);
      expect(await page.locator('section.run-view tr[data-cell]').first().getAttribute('data-status')).toBe(
        'passed',
      );
      expect(await page.locator('section.run-view .progress-text').textContent()).toBe('4 / 4');
      expect(await run.exited).toBe(0);

      // Finished, still without a reload: the run's pictures, the summary above the cells.
      await page
        .locator('section.run-view[data-pictures="shown"] .summary-chart[data-chart="drawn"]')
        .first()
        .waitFor({ timeout: 20_000 });
      expect(await page.locator('.summary-chart').count()).toBe(3);
      const [summaryBox, cellsBox] = await Promise.all([
        page.locator('.summary-chart').first().boundingBox(),
        page.locator('table.cells').boundingBox(),
      ]);
      expect(summaryBox!.y + summaryBox!.height).toBeLessThanOrEqual(cellsBox!.y);
      expect(await page.locator('table.hardware-table thead th').allTextContents()).toEqual(['', 'here']);
      await page.locator('.box-plot[data-chart="drawn"]').first().waitFor();

      // The comparison of the finished run: sysbench's three scores, one group each.
      await page.goto(`${url}#/compare?run=${encodeURIComponent(runId)}&by=target`);
      const rows = page.locator('table.compare-table tbody tr');
      await rows.first().waitFor();
      expect(await rows.count()).toBe(3);
      const texts = await rows.allTextContents();
      expect(texts.join('\n')).toMatch(/events_per_second/);
      expect(await page.locator('table.compare-table td.verdict').first().textContent()).toBe('baseline');
      await page.screenshot({ path: screenshotPath('serve-compare'), fullPage: true });

      await page.locator('header nav a[data-view="pools"]').click();
      await page.locator('section.pools-view h2').first().waitFor();
      expect(await page.locator('section.pools-view').textContent()).toMatch(/No pools yet/);

      await page.close();
      expect(problems).toEqual([]);

      const t0 = Date.now();
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(server.out().stderr).toMatch(/benchyard serve: stopped/);
    },
  );

  it('takes a token of 16 characters or more, says why BENCHYARD_TOKEN beats --token, and names no local path in errors', async () => {
    const short = await cli(['serve', '--port', '0', '--state', work, '--token', 'pw-1234'], { cwd: work });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/error: the token has 7 characters: give one of at least 16, random/);
    expect(short.stderr).not.toContain('pw-1234');

    const token = `e2e-${randomBytes(12).toString('hex')}`;
    const serveWith = async (args: string[], env: Record<string, string>) => {
      const p = startCli(['serve', '--port', '0', '--state', work, ...args], work, env);
      started.push(p);
      const url = await until(
        async () => /benchyard serve: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(p.out().stderr)?.[1],
        15_000,
        'the server to print its URL',
      );
      return { p, url };
    };
    const onCli = await serveWith(['--token', token], {});
    expect(onCli.p.out().stderr).toMatch(
      /warning: a --token on the command line is visible to every user of this machine \(ps, \/proc\/<pid>\/cmdline\).*set BENCHYARD_TOKEN instead/,
    );
    onCli.p.child.kill('SIGTERM');
    expect(await onCli.p.exited).toBe(0);

    const fromEnv = await serveWith([], { BENCHYARD_TOKEN: token });
    expect(fromEnv.p.out().stderr).not.toMatch(/warning/);
    const res = await fetch(`${fromEnv.url}api/compare?run=nope&by=target`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(400);
    const body = await res.text();
    expect(JSON.parse(body).error).toBe("no run 'nope' in 'the state folder'");
    expect(body).not.toContain(work);
    fromEnv.p.child.kill('SIGTERM');
    expect(await fromEnv.p.exited).toBe(0);
    expect(onCli.p.out().stderr + fromEnv.p.out().stderr).not.toContain(token);
  }, 60_000);
});
