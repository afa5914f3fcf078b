// /proc/<pid>/cgroup lines as the kernel writes them (`hierarchy-ID:controllers:path`,
// proc(5)), with the container cgroup paths of the kubelet's two cgroup drivers: cgroupfs
// `/kubepods/<qos>/pod<uid>/<id>`, systemd `…/kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope`.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cgroupNames, containerHostPid } from '../../src/agent/container-pid.js';

const ID = 'a'.repeat(8) + '0123456789abcdef'.repeat(3) + 'b'.repeat(8);
const OTHER = 'c'.repeat(64);
const POD = 'pod6f3c3a52-0b5e-4d2f-9c1e-2a8f0d1e4b77';

const v1 = (leaf: string) =>
  [
    `12:pids:/kubepods/besteffort/${POD}/${leaf}`,
    `11:memory:/kubepods/besteffort/${POD}/${leaf}`,
    `4:cpu,cpuacct:/kubepods/besteffort/${POD}/${leaf}`,
    `1:name=systemd:/kubepods/besteffort/${POD}/${leaf}`,
    '0::/',
  ].join('\n') + '\n';
const v2Systemd = (id: string) =>
  `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-${POD.replace(/-/g, '_')}.slice/cri-containerd-${id}.scope\n`;
const HOST = '0::/init.scope\n';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'benchyard-cgroup-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function proc(pid: number | string, cgroup: string | undefined): Promise<void> {
  const dir = path.join(root, 'proc', String(pid));
  await mkdir(dir, { recursive: true });
  if (cgroup !== undefined) await writeFile(path.join(dir, 'cgroup'), cgroup);
}

describe('containerHostPid', () => {
  it('finds the lowest pid in the container cgroup (cgroup v1, cgroupfs driver)', async () => {
    await proc(1, HOST);
    await proc(900, v1(ID));
    await proc(77, v1(ID));
    await proc(50, v1(OTHER));
    expect(await containerHostPid(ID, root)).toBe(77);
  });

  it('finds it under the systemd driver on cgroup v2, given the id as a pod status writes it', async () => {
    await proc(1, HOST);
    await proc(4321, v2Systemd(ID));
    await proc(12, v2Systemd(OTHER));
    expect(await containerHostPid(ID, root)).toBe(4321);
    expect(await containerHostPid(`containerd://${ID}`, root)).toBe(4321);
  });

  it('answers 0 where no process is in the container (it exited already)', async () => {
    await proc(1, HOST);
    await proc(2, v1(OTHER));
    expect(await containerHostPid(ID, root)).toBe(0);
  });

  it('passes over entries it cannot read and names that are not pids', async () => {
    await proc(3, undefined); // the process ended between readdir and read
    await proc('self', v1(ID));
    await mkdir(path.join(root, 'proc', '5', 'cgroup'), { recursive: true }); // not a file
    await proc(9, v1(ID));
    expect(await containerHostPid(ID, root)).toBe(9);
  });

  it('answers 0 without a readable /proc, and for ids that are not container ids', async () => {
    expect(await containerHostPid(ID, root)).toBe(0);
    await proc(9, v1(ID));
    expect(await containerHostPid(ID.slice(0, 12), root)).toBe(0);
    expect(await containerHostPid('benchyard-bench-1', root)).toBe(0);
  });

  it('matches whole path components only', () => {
    expect(cgroupNames(v1(ID), ID)).toBe(true);
    expect(cgroupNames(`0::/kubepods/${POD}/${ID}/nested\n`, ID)).toBe(true);
    expect(cgroupNames(`5:cpu:/docker/${ID}\n`, ID)).toBe(true);
    expect(cgroupNames(`0::/system.slice/docker-${ID}.scope\n`, ID)).toBe(true);
    expect(cgroupNames(`0::/kubepods/${POD}/x${ID}\n`, ID)).toBe(false);
    expect(cgroupNames(`0::/kubepods/${POD}/${ID}.log\n`, ID)).toBe(false);
    expect(cgroupNames(HOST, ID)).toBe(false);
  });
});
