/**
 * `benchyard doctor` as a user runs it: this machine; a matrix whose requirements this
 * machine cannot meet (exit 3, saying what is missing); the SSH hosts of a target, leased,
 * probed over their SSH connection and given back; an EC2 target in moto, judged by its
 * instance type without provisioning anything.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../src/ledger/index.js';
import type { DoctorReport } from '../../src/cli/commands/doctor.js';
import { cli } from '../helpers/cli.js';
import { requireMoto, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-e2e-doctor-'));
const write = (name: string, text: string) => {
  const file = path.join(work, name);
  writeFileSync(file, text);
  return file;
};
const statusOf = (r: DoctorReport, check: string) => r.checks.find((c) => c.check === check)?.status;

let hosts: readonly DevSshHost[];
let moto: string;
beforeAll(async () => {
  hosts = await requireSshHosts();
  moto = await requireMoto();
});

describe('benchyard doctor', () => {
  it('checks this machine: Docker, overlay2, inodes, clock; no GPU needed so no failure', async () => {
    const res = await cli(['doctor', '--json'], { cwd: work });
    expect(res.code, res.stderr).toBe(0);
    const [report] = JSON.parse(res.stdout) as DoctorReport[];
    expect(report!.machine).toMatch(/^local:/);
    expect(statusOf(report!, 'docker')).toBe('ok');
    expect(statusOf(report!, 'storage driver')).toBe('ok');
    expect(statusOf(report!, 'free inodes')).toBe('ok');
    expect(statusOf(report!, 'clock skew')).toBe('ok');
    expect(statusOf(report!, 'NVIDIA runtime')).toBe('skip');
  });

  it('exits 3 when the matrix needs a GPU and a device this machine lacks, naming each', async () => {
    const file = write(
      'needs.yaml',
      `name: needs\ntargets: [{name: here, provider: local}]\nbenchmarks:\n  - benchmark: {name: g, image: benchyard/bench-tools:1, command: [nvidia-smi], requires: {gpu: {count: 1, driver: '>=450'}, devices: [/dev/zero, /dev/xdma0_user]}}\n`,
    );
    const res = await cli(['doctor', file, '--json'], { cwd: work });
    expect(res.code).toBe(3);
    const [report] = JSON.parse(res.stdout) as DoctorReport[];
    expect(statusOf(report!, 'NVIDIA runtime')).toBe('fail');
    expect(report!.checks.find((c) => c.check === 'device nodes')?.detail).toBe(
      '/dev/zero present, /dev/xdma0_user MISSING',
    );
    expect(res.stderr).toMatch(/doctor: \d+ checks failed/);
  });

  it(
    'leases each SSH host of a target, checks it over SSH and gives it back',
    { timeout: 120_000 },
    async () => {
      const [h1] = hosts as [DevSshHost];
      const list = hosts.map((h) => `{host: ${h.address}, dockerSocket: ${h.dockerSocket}}`).join(', ');
      const file = write(
        'lab.yaml',
        `name: lab\ntargets:\n  - name: lab\n    provider: ssh\n    hosts: [${list}]\n    ssh: {user: root, keyFile: ${h1.keyFile}, knownHosts: ${h1.knownHostsFile}}\nbenchmarks:\n  - benchmark: {name: d, image: benchyard/bench-tools:1, command: [echo], requires: {devices: [/dev/zero]}}\n`,
      );
      const res = await cli(['doctor', file, '--json'], { cwd: work });
      expect(res.code, res.stderr).toBe(0);
      const reports = JSON.parse(res.stdout) as DoctorReport[];
      expect(reports.map((r) => r.machine).sort()).toEqual(
        hosts.map((h) => `ssh:root@${h.address}:22`).sort(),
      );
      for (const r of reports) {
        expect(statusOf(r, 'docker')).toBe('ok');
        expect(statusOf(r, 'free inodes')).toBe('ok');
        expect(statusOf(r, 'requires of d')).toBe('ok');
      }
      const ledger = new SqliteLedger(path.join(work, '.benchyard'), 'check');
      try {
        expect(ledger.open()).toEqual([]);
      } finally {
        ledger.dispose();
      }
    },
  );

  it('judges an EC2 target by its instance type and provisions nothing', { timeout: 60_000 }, async () => {
    const file = write(
      'ec2.yaml',
      `name: ec2\ntargets:\n  - name: t4\n    provider: aws\n    regions: [us-east-1]\n    instanceType: g4dn.xlarge\n    ami: ami-12c6146b\n    endpoint: ${moto}\n  - name: cpu\n    provider: aws\n    regions: [us-east-1]\n    instanceType: m5.large\n    ami: ami-12c6146b\n    endpoint: ${moto}\nbenchmarks:\n  - benchmark: {name: g, image: benchyard/bench-tools:1, command: [nvidia-smi], requires: {gpu: {model: T4}}}\n`,
    );
    const env = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
    const ec2 = new EC2Client({
      region: 'us-east-1',
      endpoint: moto,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const count = async () =>
      ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap(
        (r) => r.Instances ?? [],
      ).length;
    const before = await count();
    const res = await cli(['doctor', file, '--json'], { cwd: work, env });
    expect(res.code).toBe(3); // m5.large has no T4
    const reports = JSON.parse(res.stdout) as DoctorReport[];
    const t4 = reports.find((r) => r.target === 't4')!;
    const cpu = reports.find((r) => r.target === 'cpu')!;
    expect(t4.checks.find((c) => c.check === 'aws API')?.detail).toMatch(/GPUs: 1× NVIDIA T4/);
    expect(statusOf(t4, 'requires of g')).toBe('ok');
    expect(cpu.checks.find((c) => c.check === 'requires of g')).toMatchObject({
      status: 'fail',
      detail: 'needs 1 GPU matching /T4/i; has none',
    });
    expect(await count()).toBe(before);
  });
});
