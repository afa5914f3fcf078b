import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { docker } from '../helpers/services.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'by-bad-'));
const T = 'targets: [{ name: here, provider: local }]\n';
const B = 'benchmarks: [{ benchmark: sysbench-cpu }]\n';

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
