import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, until } from '../helpers/cli.js';
import { docker, managedContainers } from '../helpers/services.js';

/** `benchyard run` of three 60 s repetitions on this machine, in the background. */
function longRun() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'by-int-'));
  const file = path.join(work, 'long.yaml');
  writeFileSync(
    file,
    'name: long\nrepetitions: 3\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: sysbench-cpu, params: {time: 60}}]\n',
  );
  const child = spawn(process.execPath, [BIN, 'run', file], {
    cwd: work,
    env: { ...process.env, CI: 'true' },
  });
  return { work, child };
}

describe('Ctrl-C during a run', () => {
  it('stops and removes the running container, records the run as cancelled, exits 130', async () => {
    const { work, child } = longRun();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/^run \S+: 3 repetitions/m.test(stderr)) setTimeout(() => child.kill('SIGINT'), 1000);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/SIGINT: cancelling/);
    const runId = /^run (\S+):/m.exec(stderr)![1]!;
    expect(await managedContainers(docker(), runId)).toEqual([]);
    const stored = JSON.parse((await cli(['results', '--json'], { cwd: work })).stdout);
    expect(stored.run).toMatchObject({ id: runId, status: 'cancelled' });
    expect(stored.results.map((r: { failureClass: string }) => r.failureClass)).toEqual(['CANCELLED']);
  });

  it('a SIGTERM after its output pipes closed (execFile on a timeout) still cleans up: exit 130, nothing left', async () => {
    const { work, child } = longRun();
    let stderr = '';
    const runId = await new Promise<string>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /^run (\S+): 3 repetitions/m.exec(stderr);
        if (m) resolve(m[1]!);
      }),
    );
    await until(
      async () => ((await managedContainers(docker(), runId)).length ? true : undefined),
      30_000,
      'the container',
    );
    // What Node's execFile does when its timeout fires: close the pipes, then SIGTERM.
    child.stdout.destroy();
    child.stderr.destroy();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(await managedContainers(docker(), runId)).toEqual([]);
    const stored = JSON.parse((await cli(['results', '--json'], { cwd: work })).stdout);
    expect(stored.run).toMatchObject({ id: runId, status: 'cancelled' });
  });
});
