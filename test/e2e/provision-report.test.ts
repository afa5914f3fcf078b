/**
 * The provisioning timeline through the CLI: one run on an EC2 instance in moto (standing
 * on the SSH test host h1), an SSH host (h2) and this machine; `results --provision` lists
 * each machine's steps, `compare --provision` compares them like scores, and the HTML
 * report draws a timeline per machine, checked in headless Chromium.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshotPath } from '../helpers/browser.js';
import { ROOT } from '../helpers/catalog.js';
import { cli } from '../helpers/cli.js';
import { requireMoto, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-provision-'));
const state = path.join(work, 'state');

interface MachineJson {
  machineId: string;
  target: string;
  instanceType: string;
  provision?: Record<string, number>;
}

/** The steps each target's machine goes through, in order. */
const EXPECTED: Record<string, string[]> = {
  gpu: ['requested', 'created', 'running', 'ssh', 'docker', 'images', 'agent', 'firstRepetition'],
  lab: ['requested', 'ssh', 'docker', 'images', 'agent', 'firstRepetition'],
  here: ['requested', 'docker', 'images', 'agent', 'firstRepetition'],
};

describe('provisioning timeline through the CLI', () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    const [h1, h2] = (await requireSshHosts()) as [DevSshHost, DevSshHost];
    const moto = await requireMoto();
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/bundle-web.mjs')], { cwd: ROOT });
    const ssh = (h: DevSshHost) =>
      `{user: ${h.user}, keyFile: ${h.keyFile}, knownHosts: ${h.knownHostsFile}, dockerSocket: ${h.dockerSocket}, connectTimeout: 20s}`;
    writeFileSync(
      path.join(work, 'm.yaml'),
      `name: provision-e2e
repetitions: 2
targets:
  - { name: here, provider: local }
  - name: gpu
    provider: aws
    regions: [us-east-1]
    instanceType: g4dn.xlarge
    ami: ami-12c6146b
    endpoint: ${moto}
    ssh: ${ssh(h1)}
  - name: lab
    provider: ssh
    hosts: [{host: ${h2.address}, dockerSocket: ${h2.dockerSocket}}]
    ssh: ${ssh(h2)}
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: 1, time: 1 }
`,
    );
    const run = await cli(['run', 'm.yaml', '--state', state], {
      cwd: work,
      env: {
        BENCHYARD_TEST_ADDRESSES: h1.address,
        BENCHYARD_TEST_POLL_MS: '200',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing-secret',
        AWS_REGION: 'us-east-1',
      },
    });
    expect(run.code, run.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('results --provision --json: every machine with its steps, in order', async () => {
    const res = await cli(['results', '--provision', '--json', '--state', state]);
    expect(res.code, res.stderr).toBe(0);
    const machines = (JSON.parse(res.stdout) as { machines: MachineJson[] }).machines;
    expect(machines.map((m) => m.target).sort()).toEqual(['gpu', 'here', 'lab']);
    for (const m of machines) {
      const p = m.provision!;
      expect(Object.keys(p), m.target).toEqual(EXPECTED[m.target]);
      const values = Object.values(p);
      expect(values[0]).toBe(0);
      expect(values, m.target).toEqual([...values].sort((a, b) => a - b));
      console.log(`provision ${m.target} (${m.instanceType}), ms since requested: ${JSON.stringify(p)}`);
    }
    // The results' JSON carries the timelines too.
    const all = JSON.parse((await cli(['results', '--json', '--state', state])).stdout) as {
      machines: MachineJson[];
    };
    expect(all.machines.find((m) => m.target === 'gpu')?.provision).toEqual(
      machines.find((m) => m.target === 'gpu')?.provision,
    );
  });

  it('results --provision: a row per machine, seconds per step; --machine chooses', async () => {
    const res = await cli(['results', '--provision', '--wide', '--state', state]);
    expect(res.code, res.stderr).toBe(0);
    const text = res.stdout.replace(/[│┌┐└┘├┤┬┴┼─]/g, ' ');
    expect(text).toMatch(/machine\s+type\s+created \(s\)\s+running \(s\)\s+ssh \(s\)\s+docker \(s\)/);
    expect(text).toMatch(/gpu\/i-\S+\s+g4dn\.xlarge(\s+\d+\.\d+){7}\s*\n/);
    expect(text).toMatch(/lab\/10\.250\.2\.2\s+bare-metal\s+-\s+-(\s+\d+\.\d+){5}\s*\n/);
    const one = await cli(['results', '--provision', '--machine', 'lab/10.250.2.2', '--state', state]);
    expect(one.stdout).toContain('bare-metal');
    expect(one.stdout).not.toContain('g4dn.xlarge');
    const bad = await cli(['results', '--provision', '--samples', '--state', state]);
    expect(bad.code).toBe(2);
  });

  it('compare --by instance-type --provision: provision.* rows per type, seconds, lower is better', async () => {
    const res = await cli([
      'compare',
      '--by',
      'instance-type',
      '--provision',
      '--format',
      'json',
      '--state',
      state,
    ]);
    expect(res.code, res.stderr).toBe(0);
    const c = JSON.parse(res.stdout) as {
      groups: string[];
      rows: {
        benchmark: string;
        score: string;
        unit: string;
        direction: string;
        groups: { group: string; n: number; median: number }[];
      }[];
    };
    expect([...c.groups].sort()).toEqual(['bare-metal', 'g4dn.xlarge', 'local']);
    const rows = c.rows.filter((r) => r.benchmark === 'provision');
    expect(rows.map((r) => r.score)).toEqual(
      expect.arrayContaining(['provision.ssh', 'provision.docker', 'provision.firstRepetition']),
    );
    const ssh = rows.find((r) => r.score === 'provision.ssh')!;
    expect(ssh).toMatchObject({ unit: 's', direction: 'lower' });
    // local has no SSH step: no value; the two machines reached over SSH have one each.
    expect(Object.fromEntries(ssh.groups.map((g) => [g.group, g.n]))).toEqual({
      'bare-metal': 1,
      'g4dn.xlarge': 1,
      local: 0,
    });
    const refused = await cli(['compare', '--by', 'param:threads', '--provision', '--state', state]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/provisioning times belong to machines/);
  });

  it('report --html draws a timeline per machine, bars to one scale, offline', async () => {
    const out = path.join(work, 'report.html');
    const res = await cli(['report', '--html', out, '--by', 'instance-type', '--state', state]);
    expect(res.code, res.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    const model = JSON.parse(
      /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1]!,
    );
    expect(model.provision.machines).toHaveLength(3);

    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.route('**/*', (route) =>
      route.request().url().startsWith('file:') ? route.continue() : route.abort(),
    );
    await page.goto(pathToFileURL(out).href);
    const section = page.locator('section.provision');
    await section.waitFor({ timeout: 15_000 });
    expect(await section.locator('h2').textContent()).toBe('Provisioning timeline');
    const rows = section.locator('table.provision-table tbody tr');
    expect(await rows.count()).toBe(3);
    const gpu = section.locator('tbody tr[data-machine^="aws:"]');
    // Each step reached is a number of seconds and a segment of the bar; the segments tile
    // the bar from 0 to the last step, in order.
    expect(await gpu.locator('td[data-step]').allTextContents()).toSatisfy((xs: string[]) =>
      xs.every((x) => /^\d+\.\d+$/.test(x)),
    );
    const segments = await gpu.locator('.provision-bar .phase').evaluateAll((els) =>
      els.map((e) => {
        const r = (
          e as unknown as { getBoundingClientRect(): { left: number; width: number } }
        ).getBoundingClientRect();
        return {
          step: (e as unknown as { dataset: { step: string } }).dataset.step,
          left: r.left,
          width: r.width,
        };
      }),
    );
    expect(segments.map((s) => s.step)).toEqual(EXPECTED.gpu!.slice(1));
    for (let i = 1; i < segments.length; i++)
      expect(segments[i]!.left).toBeCloseTo(segments[i - 1]!.left + segments[i - 1]!.width, 0);
    const local = section.locator('tbody tr[data-machine^="local:"]');
    expect(await local.locator('td[data-step="ssh"]').textContent()).toBe('–');
    await page.screenshot({ path: screenshotPath('provision-report'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
