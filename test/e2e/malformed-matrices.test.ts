import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startCli } from '../helpers/cli.js';
import { docker } from '../helpers/services.js';
import { runProcess } from '../fuzz/harness.js';
import { bomb } from '../fuzz/mutations.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'by-bad-'));
const T = 'targets: [{ name: here, provider: local }]\n';
const B = 'benchmarks: [{ benchmark: sysbench-cpu }]\n';
const axis = (n: number, from = 1) => `[${Array.from({ length: n }, (_, i) => i + from).join(', ')}]`;

/** [name, matrix text, expected line:col, expected message fragment] */
const CASES: [string, string, string, RegExp][] = [
  ['yaml syntax error', 'name: a\ntargets: [\n', '3:1', /YAML/],
  ['tab indentation', 'name: a\ntargets:\n\t- name: x\n', '3:1', /YAML/],
  ['duplicate key', `name: a\nname: b\n${T}${B}`, '2:1', /duplicate key 'name'/],
  ['empty file', '', '1:1', /empty/],
  ['top level is a list', '- name: a\n', '1:1', /expected object/],
  ['missing name', `${T}${B}`, '1:1', /missing required key 'name'/],
  ['missing benchmarks', `name: a\n${T}`, '1:1', /missing required key 'benchmarks'/],
  ['unknown top-level key', `name: a\n${T}${B}colour: red\n`, '4:1', /unknown key 'colour'/],
  [
    'unknown provider',
    `name: a\ntargets: [{ name: h, provider: gcp }]\n${B}`,
    '2:32',
    /unsupported provider "gcp"/,
  ],
  [
    'duplicate target',
    `name: a\ntargets:\n  - { name: h, provider: local }\n  - { name: h, provider: local }\n${B}`,
    '4:5',
    /duplicate target name 'h' \(first at line 3\)/,
  ],
  ['unknown benchmark', `name: a\n${T}benchmarks: [{ benchmark: hpl }]\n`, '3:27', /unknown benchmark 'hpl'/],
  [
    'undeclared param',
    `name: a\n${T}benchmarks:\n  - benchmark: fio\n    params: { depth: 4 }\n`,
    '5:15',
    /parameter 'depth' is not declared by benchmark 'fio'/,
  ],
  [
    'param wrong type',
    `name: a\n${T}benchmarks:\n  - benchmark: sysbench-cpu\n    params: { threads: many }\n`,
    '5:24',
    /expected integer, got string 'many'/,
  ],
  [
    'param out of range',
    `name: a\n${T}benchmarks:\n  - benchmark: sysbench-cpu\n    params:\n      threads: [1, 2000]\n`,
    '6:20',
    /2000 is above the maximum 1024/,
  ],
  ['repetitions zero', `name: a\nrepetitions: 0\n${T}${B}`, '2:14', /expected number to be >=1|Too small/],
  ['concurrency not integer', `name: a\nconcurrency: 1.5\n${T}${B}`, '2:14', /int/i],
  [
    'bad timeout',
    `name: a\n${T}benchmarks: [{ benchmark: fio, timeout: forever }]\n`,
    '3:41',
    /'forever' is not a duration/,
  ],
  [
    'bad target name',
    `name: a\ntargets: [{ name: "My Box", provider: local }]\n${B}`,
    '2:19',
    /must be 1-63 lowercase/,
  ],
  [
    'store url not http',
    `name: a\n${T}${B}store: { elasticsearch: { url: "es:9200" } }\n`,
    '4:32',
    /http\(s\) URL/,
  ],
  ['empty targets', `name: a\ntargets: []\n${B}`, '2:10', /at least one target/],
  [
    'alias to a missing anchor',
    `name: a\n${T}benchmarks: [{ benchmark: *nope }]\n`,
    '3:27',
    /YAML: alias '\*nope' names no anchor set before it/,
  ],
  [
    'alias inside its own anchor',
    `name: &n [a, *n]\n${T}${B}`,
    '1:14',
    /YAML: alias '\*n' is inside the value/,
  ],
  [
    'alias bomb',
    `name: a\n${T}${B}${bomb(9, 10)}`,
    '10:18',
    /YAML: aliases expand the document beyond 250,000/,
  ],
  [
    'nested 65 deep',
    `name: a\n${T}${B}x: ${'['.repeat(65)}${']'.repeat(65)}\n`,
    '4:67',
    /nested deeper than 64/,
  ],
  [
    'a billion cells',
    `name: a\n${T}benchmarks:\n  - benchmark: sysbench-cpu\n    params: { threads: ${axis(1000)}, time: ${axis(1000)}, max_prime: ${axis(1000)} }\n`,
    '5:13',
    /expands to 1,000,000,000 cells, above the limit of 10,000: 'sysbench-cpu': threads \(1,000\) × time \(1,000\) × max_prime \(1,000\) × 1 target/,
  ],
];

// Containers this file's CLI runs would create carry this session label; other suites
// running on the same engine cannot disturb the check.
const SESSION = `malformed-${process.pid}-${Date.now()}`;
let since = 0;
beforeAll(() => {
  since = Math.floor(Date.now() / 1000) - 1;
});

describe('malformed matrices: exit 2, file:line:col, nothing started', () => {
  it.each(CASES)('%s', async (name, text, lineCol, message) => {
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, text);
    const res = await cli(['run', file], { cwd: dir, env: { BENCHYARD_SESSION: SESSION } });
    expect(res.code).toBe(2);
    const first = res.stderr.split('\n')[0]!;
    expect(first.startsWith(`${file}:${lineCol}: `), first).toBe(true);
    expect(first).toMatch(message);
    expect(res.stderr).toMatch(/nothing was started/);
    expect(res.stdout).toBe('');
  });

  it('a missing matrix file is bad input', async () => {
    const res = await cli(['run', path.join(dir, 'nope.yaml')], { cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/nope\.yaml: cannot read: no such file/);
  });

  it('an unknown flag is bad input', async () => {
    const res = await cli(['run', '--frobnicate', 'x.yaml'], { cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown option '--frobnicate'/);
  });

  afterAll(async () => {
    // No store was created and the engine saw no benchyard container in the whole window.
    expect(existsSync(path.join(dir, '.benchyard'))).toBe(false);
    const until = Math.ceil(Date.now() / 1000) + 1;
    const stream = await docker().getEvents({
      since,
      until,
      filters: { type: ['container'], event: ['create'], label: [`io.benchyard.session=${SESSION}`] },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('');
  });
});

describe('hostile files and signals', () => {
  it.each([
    ['a FIFO', () => fifo(), /not a regular file \(a FIFO\)/],
    ['/dev/zero', () => '/dev/zero', /not a regular file \(a character device\)/],
    [
      'a 300 KiB file',
      () => file('big.yaml', `# ${'x'.repeat(300 * 1024)}\n`),
      /the file is 301 KiB, above the limit of 256 KiB/,
    ],
  ])('%s as the matrix is refused at once (plan and run)', async (_name, make, message) => {
    const matrix = make();
    for (const command of [['plan'], ['run', '--state', path.join(dir, 'state-special')]]) {
      const started = Date.now();
      const res = await cli([...command, matrix], { cwd: dir });
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(res.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(Date.now() - started).toBeLessThan(10_000); // a blocked read never ends
    }
  });

  it('a 10⁹-cell matrix is refused in under a second of CPU, with the count and its axes', async () => {
    const matrix = file(
      'billion.yaml',
      `name: a\n${T}benchmarks:\n  - benchmark: sysbench-cpu\n    params: { threads: ${axis(1000)}, time: ${axis(1000)}, max_prime: ${axis(1000, 3)} }\n`,
    );
    const res = await runProcess(['plan', '--json', matrix]);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(
      /expands to 1,000,000,000 cells.*threads \(1,000\) × time \(1,000\) × max_prime \(1,000\)/,
    );
    // CPU time, not wall time: the bound is on benchyard's work, not on how loaded the machine is.
    expect(res.cpuMs).toBeLessThan(1000);
    expect(res.maxRssBytes).toBeLessThan(200 * 2 ** 20);
  });

  it.each([['plan'], ['run']])(
    '%s answers SIGTERM while a Docker engine never answers: exit 130, at once',
    async (command) => {
      const socket = path.join(dir, `${command}-silent.sock`);
      const server = net.createServer(() => {}); // accepts, never answers
      await new Promise<void>((resolve) => server.listen(socket, resolve));
      const asked = new Promise<void>((resolve) => server.once('connection', () => resolve()));
      const matrix = file(
        `${command}-silent.yaml`,
        `name: silent\ntargets: [{ name: here, provider: local, docker: { socketPath: ${socket} } }]\nbenchmarks:\n  - benchmark: { name: mine, image: alpine, command: ["true"], requires: { devices: [/dev/null] } }\n`,
      );
      const args =
        command === 'run' ? ['run', '--state', path.join(dir, 'state-silent'), matrix] : ['plan', matrix];
      const bg = startCli(args, dir);
      try {
        // Asked, or ended early: then its output says why.
        const first = await Promise.race([asked.then(() => 'asked'), bg.exited.then(() => 'exited')]);
        expect(first, bg.out().stderr).toBe('asked');
        const signalled = Date.now();
        bg.child.kill('SIGTERM');
        expect(await bg.exited, bg.out().stderr).toBe(130);
        expect(Date.now() - signalled).toBeLessThan(5000);
        expect(bg.out().stderr).not.toMatch(/internal error|\n\s+at /);
      } finally {
        bg.child.kill('SIGKILL');
        server.close();
      }
    },
  );
});

describe('plan shows what the containers get and stays quick at the size limit', () => {
  it('lists mounts and warns on /etc and writable block devices, as for privileged', async () => {
    const matrix = file(
      'mounts.yaml',
      `name: m\n${T}benchmarks:\n  - benchmark: { name: mine, image: alpine, command: [cat], requires: { devices: ['/dev/sdz:/dev/sdz:rw'], privileged: true } }\n    inputs: /etc\n`,
    );
    const res = await cli(['plan', matrix], { cwd: dir });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(
      'mounts (what the containers get from their machines):\n  mine: /etc → /in (read-only)\n  mine: /dev/sdz → /dev/sdz (rw)\n',
    );
    expect(res.stdout).toMatch(
      /^warning: 'mine' mounts \/etc at \/in: \/etc holds the machine's configuration/m,
    );
    expect(res.stdout).toMatch(/^warning: 'mine' gets the block device \/dev\/sdz with write access \(rw\)/m);
    expect(res.stdout).toMatch(/^privileged containers \(the benchmark asks for it\): mine$/m);
    const json = JSON.parse((await cli(['plan', '--json', matrix], { cwd: dir })).stdout);
    expect(json.warnings).toHaveLength(2);
    expect(json.mounts.map((m: { host: string }) => m.host)).toEqual(['/etc', '/dev/sdz']);
  });

  it('a matrix at the limit of 10,000 cells: the table shows 1,000, --json all, each in under 2 s of CPU', async () => {
    const matrix = file(
      'limit.yaml',
      `name: limit\n${T}benchmarks:\n  - benchmark: sysbench-cpu\n    params: { threads: ${axis(100)}, time: ${axis(100)} }\n`,
    );
    const table = await runProcess(['plan', matrix]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(
      /^… 9000 more cells not shown \(the first 1000 are\); plan --json lists every cell$/m,
    );
    // 5 repetitions per cell by default.
    expect(table.stdout).toMatch(/^limit: 10000 cells, 50000 repetitions/m);
    const json = await runProcess(['plan', '--json', matrix]);
    expect(JSON.parse(json.stdout).cells).toHaveLength(10_000);
    for (const r of [table, json]) {
      expect(r.cpuMs).toBeLessThan(2000);
      expect(r.maxRssBytes).toBeLessThan(256 * 2 ** 20);
    }
  });
});

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

function fifo(): string {
  const p = path.join(dir, `fifo-${Date.now()}`);
  execFileSync('mkfifo', [p]);
  return p;
}
