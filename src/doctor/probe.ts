/**
 * What `doctor` needs to know about one machine, read through its Docker engine only (so a
 * remote machine needs nothing but its SSH connection): the engine's version, storage
 * driver, data root and runtimes; the clock; and, from one short container with the data
 * root and /dev mounted read-only, the free inodes and which device nodes exist. Where a
 * GPU is asked for and the engine has the NVIDIA runtime, `nvidia-smi -q -x` in a container
 * with one GPU request says whether the driver works and which version it is, and how
 * healthy its GPUs are; the probe container then also looks for XID errors in the kernel
 * log (`dmesg`, where the engine lets a container read it: Docker's default seccomp
 * profile does not, which is said, not hidden).
 */
import type Docker from 'dockerode';
import { errorMessage, silentLogger, type Logger } from '../core/index.js';
import { DockerEngine, dockerMessage, runContainer, type RunOptions, type RunSpec } from '../engine/index.js';
import {
  parseGpuHealthXml,
  parseGpuInventoryXml,
  type GpuHealth,
  type GpuInventory,
} from '../metrics/gpu/index.js';
import { parseXidLine, type XidEvent } from '../metrics/index.js';

export interface MachineProbe {
  docker: { version: string; apiVersion: string; os: string; kernel: string } | { error: string };
  storageDriver?: string;
  dockerRootDir?: string;
  runtimes: string[];
  /** Engine clock minus this controller's, corrected by half the round trip. */
  clockSkewMs?: number;
  inodes?: { total: number; free: number };
  /** Device path → whether it exists on the machine. */
  devices: Record<string, boolean>;
  /**
   * nvidia-smi's answer: the GPUs, a failure (no usable GPU or driver), or output that ran
   * fine but could not be read (GPUs unknown, not none).
   */
  nvidia?: { inventory: GpuInventory } | { error: string } | { unreadable: string };
  /** The GPUs' health counters and slowdowns now, from the same output. */
  gpuHealth?: GpuHealth[];
  /** XID errors in the kernel log (where GPUs are asked for), or why it could not be read. */
  kernelLog?: { xids: XidEvent[] } | { unreadable: string };
  /** What went wrong reading the filesystem facts (the probe container). */
  probeError?: string;
}

export interface ProbeOptions {
  /** An image present on the machine with a POSIX sh and df (e.g. benchyard/base:bookworm). */
  image: string;
  devices: readonly string[];
  /** Run nvidia-smi in a container with a GPU request (only where the NVIDIA runtime is). */
  gpu: boolean;
  signal: AbortSignal;
  logger?: Logger;
}

const LABELS = { 'io.benchyard.managed': 'true', 'io.benchyard.probe': 'doctor' };

export async function probeMachine(docker: Docker, opts: ProbeOptions): Promise<MachineProbe> {
  const probe: MachineProbe = { docker: { error: 'not asked' }, runtimes: [], devices: {} };
  try {
    const sent = Date.now();
    const [version, info] = await Promise.all([
      docker.version() as Promise<{ Version: string; ApiVersion: string; Os: string; KernelVersion: string }>,
      docker.info() as Promise<{
        Driver?: string;
        DockerRootDir?: string;
        Runtimes?: Record<string, unknown>;
        SystemTime?: string;
      }>,
    ]);
    const received = Date.now();
    probe.docker = {
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: version.Os,
      kernel: version.KernelVersion,
    };
    if (info.Driver) probe.storageDriver = info.Driver;
    if (info.DockerRootDir) probe.dockerRootDir = info.DockerRootDir;
    probe.runtimes = Object.keys(info.Runtimes ?? {});
    const engineTime = Date.parse(info.SystemTime ?? '');
    if (Number.isFinite(engineTime)) probe.clockSkewMs = engineTime - (sent + received) / 2;
  } catch (err) {
    probe.docker = { error: dockerMessage(err) };
    return probe;
  }
  const engine = new DockerEngine(docker);
  const logger = opts.logger ?? silentLogger;
  const runner = { run: (spec: RunSpec, o: RunOptions) => runContainer(engine, spec, o, { logger }) };
  const name = (what: string) => `benchyard-doctor-${what}-${process.pid}-${Date.now().toString(36)}`;
  try {
    const script = [
      'df -Pi /data-root | tail -n 1',
      ...opts.devices.map(
        (d) => `if [ -e '/host${d}' ]; then echo "device ${d} yes"; else echo "device ${d} no"; fi`,
      ),
      ...(opts.gpu ? [KERNEL_LOG_SCRIPT] : []),
    ].join('\n');
    const out = await runner.run(
      {
        name: name('fs'),
        image: opts.image,
        argv: ['sh', '-c', script],
        network: 'none',
        timeoutMs: 60_000,
        labels: LABELS,
        readOnlyMounts: {
          ...(probe.dockerRootDir ? { [probe.dockerRootDir]: '/data-root' } : {}),
          '/dev': '/host/dev',
        },
      },
      { signal: opts.signal },
    );
    const df = out.stdout.split('\n')[0]?.trim().split(/\s+/);
    // Filesystem Inodes IUsed IFree IUse% Mounted-on
    if (df && df.length >= 4 && /^\d+$/.test(df[1]!))
      probe.inodes = { total: Number(df[1]), free: Number(df[3]) };
    for (const m of out.stdout.matchAll(/^device (\S+) (yes|no)$/gm)) probe.devices[m[1]!] = m[2] === 'yes';
    if (opts.gpu) probe.kernelLog = kernelLogOf(out.stdout);
    if (out.exitCode !== 0)
      probe.probeError = `probe exited ${out.exitCode}: ${out.stderr.trim().slice(0, 300)}`;
  } catch (err) {
    probe.probeError = errorMessage(err);
  }
  if (opts.gpu && probe.runtimes.includes('nvidia')) {
    try {
      const out = await runner.run(
        {
          name: name('gpu'),
          image: opts.image,
          argv: ['nvidia-smi', '-q', '-x'],
          network: 'none',
          timeoutMs: 120_000,
          labels: LABELS,
          access: { gpu: { count: 'all' }, devices: [], deviceCgroupRules: [], privileged: false },
        },
        { signal: opts.signal },
      );
      probe.nvidia =
        out.exitCode === 0
          ? readInventory(out.stdout)
          : { error: `nvidia-smi exited ${out.exitCode}: ${(out.stdout + out.stderr).trim().slice(0, 300)}` };
      if ('inventory' in probe.nvidia) probe.gpuHealth = readHealth(out.stdout);
    } catch (err) {
      probe.nvidia = { error: errorMessage(err) };
    }
  }
  return probe;
}

/**
 * The kernel log's XID lines (the last 50), or why it cannot be read; dmesg's first line
 * says why (e.g. `dmesg: read kernel buffer failed: Operation not permitted`).
 */
const KERNEL_LOG_SCRIPT = [
  'if log=$(dmesg 2>&1); then',
  `  printf '%s\\n' "$log" | grep 'NVRM: Xid' | tail -n 50 | sed 's/^/xid /'`,
  "  echo 'kernel-log readable'",
  'else',
  `  echo "kernel-log unreadable: $(printf '%s\\n' "$log" | head -n 1)"`,
  'fi',
].join('\n');

export function kernelLogOf(stdout: string): MachineProbe['kernelLog'] {
  const unreadable = /^kernel-log unreadable: ?(.*)$/m.exec(stdout);
  if (unreadable) return { unreadable: unreadable[1]?.trim() || 'dmesg failed' };
  if (!/^kernel-log readable$/m.test(stdout)) return { unreadable: 'the probe did not get to read it' };
  const xids = [...stdout.matchAll(/^xid (.*)$/gm)].flatMap((m) => parseXidLine(m[1]!) ?? []);
  return { xids };
}

function readHealth(xml: string): GpuHealth[] | undefined {
  try {
    return parseGpuHealthXml(xml);
  } catch {
    return undefined;
  }
}

function readInventory(xml: string): NonNullable<MachineProbe['nvidia']> {
  try {
    return { inventory: parseGpuInventoryXml(xml) };
  } catch (err) {
    return { unreadable: errorMessage(err) };
  }
}
