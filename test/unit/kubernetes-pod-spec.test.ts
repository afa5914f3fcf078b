/**
 * The pods benchyard creates, as plain objects: a holder that keeps other holders off its
 * node, a Guaranteed-QoS benchmark pod pinned to the held node, the metrics agent pod. The
 * keep step (the shell that tars `afterExit` files) is run for real with /bin/sh and tar.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InfrastructureError,
  NO_REQUIREMENTS,
  type ContainerSpec,
  type Requirements,
} from '../../src/core/index.js';
import { K8S_LABELS, OWNER_ANNOTATION, ownerOf, type PodOwner } from '../../providers/kubernetes/identity.js';
import {
  agentPod,
  benchmarkPod,
  GPU_RESOURCE,
  holderPod,
  KEEP_DIR,
  probePod,
  type Placement,
} from '../../providers/kubernetes/pod-spec.js';

const owner: PodOwner = {
  key: 'k1',
  session: 's1',
  owner: 'alice@ci',
  expiresAt: '2026-12-05T10:00:00.000Z',
};
const placement: Placement = {
  nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4' },
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }],
  imagePullSecrets: ['regcred'],
};

const spec = (o: Partial<ContainerSpec> = {}, access: Partial<Requirements> = {}): ContainerSpec => ({
  name: 'c',
  image: '127.0.0.1:5000/b@sha256:' + 'a'.repeat(64),
  argv: ['bench', '--n', '3'],
  labels: { run: 'r1', cell: 'c1' },
  network: 'none',
  access: { ...NO_REQUIREMENTS, ...access },
  ...o,
});

const bench = (s: ContainerSpec, extra: { exclusive?: boolean; nodeGpus?: number } = {}) =>
  benchmarkPod({
    name: 'by-bench-k1-abcdef',
    owner,
    placement,
    node: 'node-7',
    exclusive: extra.exclusive ?? true,
    spec: s,
    resources: { milliCpu: 4000, memoryBytes: 8 * 2 ** 30, nodeGpus: extra.nodeGpus ?? 8 },
    deadlineSeconds: 900,
  });

const holder = (exclusive: boolean) =>
  holderPod({
    name: 'by-holder-k1-abcdef',
    owner,
    placement,
    exclusive,
    image: 'registry.k8s.io/pause:3.10.1',
    deadlineSeconds: 3600,
  });

describe('holderPod', () => {
  it('on an exclusive target keeps every other holder off its node, and marks itself exclusive', () => {
    const pod = holder(true);
    expect(pod.metadata?.labels?.[K8S_LABELS.exclusive]).toBe('true');
    expect(pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      {
        labelSelector: { matchLabels: { [K8S_LABELS.managedBy]: 'benchyard', [K8S_LABELS.role]: 'holder' } },
        topologyKey: 'kubernetes.io/hostname',
      },
    ]);
  });

  it('on a shared target avoids only exclusive holders', () => {
    const pod = holder(false);
    expect(pod.metadata?.labels?.[K8S_LABELS.exclusive]).toBeUndefined();
    const terms = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    expect(terms?.[0]?.labelSelector?.matchLabels).toEqual({
      [K8S_LABELS.managedBy]: 'benchyard',
      [K8S_LABELS.role]: 'holder',
      [K8S_LABELS.exclusive]: 'true',
    });
  });

  it('has a deadline, tiny resources, no API token, the owner annotation and the placement', () => {
    const pod = holder(true);
    expect(pod.spec?.activeDeadlineSeconds).toBe(3600);
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    expect(pod.spec?.restartPolicy).toBe('Never');
    expect(pod.spec?.nodeSelector).toEqual(placement.nodeSelector);
    expect(pod.spec?.tolerations).toEqual(placement.tolerations);
    expect(pod.spec?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.spec?.containers).toHaveLength(1);
    expect(pod.spec?.containers[0]?.resources?.limits).toEqual({ cpu: '10m', memory: '16Mi' });
    expect(ownerOf(pod)).toEqual(owner);
    expect(pod.metadata?.labels?.[K8S_LABELS.role]).toBe('holder');
    // Any node the selector matches, unless it is told which have the GPUs the cells need.
    expect(pod.spec?.affinity?.nodeAffinity).toBeUndefined();
    const gpuNodes = holderPod({
      name: 'by-holder-k1-abcdef',
      owner,
      placement,
      exclusive: true,
      image: 'registry.k8s.io/pause:3.10.1',
      deadlineSeconds: 3600,
      nodes: ['gpu-1', 'gpu-2'],
    });
    expect(gpuNodes.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual({
      nodeSelectorTerms: [
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['gpu-1', 'gpu-2'] }] },
      ],
    });
    expect(gpuNodes.spec?.affinity?.podAntiAffinity).toBeDefined();
  });
});

describe('benchmarkPod', () => {
  it('is Guaranteed QoS: requests equal limits, GPUs from requires.gpu.count', () => {
    const pod = bench(spec({}, { gpu: { count: 2 } }));
    const r = pod.spec?.containers[0]?.resources;
    expect(r?.limits).toEqual({ cpu: '4000m', memory: String(8 * 2 ** 30), [GPU_RESOURCE]: '2' });
    expect(r?.requests).toEqual(r?.limits);
  });

  it("takes the node's GPUs for count 'all', and none without a GPU requirement", () => {
    expect(
      bench(spec({}, { gpu: { count: 'all' } }), { nodeGpus: 4 }).spec?.containers[0]?.resources?.limits?.[
        GPU_RESOURCE
      ],
    ).toBe('4');
    expect(bench(spec()).spec?.containers[0]?.resources?.limits).not.toHaveProperty(GPU_RESOURCE);
  });

  it('refuses what only Docker can give, saying why', () => {
    const refused = (s: ContainerSpec) => {
      try {
        bench(s);
      } catch (err) {
        expect(err).toBeInstanceOf(InfrastructureError);
        return (err as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refused(spec({}, { gpu: { count: 1, ids: ['GPU-1'] } }))).toMatch(/device plugin picks them/);
    expect(
      refused(spec({}, { devices: [{ host: '/dev/fpga0', container: '/dev/fpga0', permissions: 'rw' }] })),
    ).toMatch(/\/dev\/fpga0.*device plugin/);
    expect(refused(spec({}, { deviceCgroupRules: ['c 195:* rwm'] }))).toMatch(/c 195:\* rwm/);
    expect(refused(spec({ readOnlyMounts: { '/data': '/in' } }))).toMatch(/bake the inputs into the image/);
  });

  it('is pinned to the held node; anti-affinity against other benchmarks only when exclusive', () => {
    const pinned = bench(spec());
    expect(
      pinned.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    ).toEqual([
      // By the node's name: its hostname label need not be the same.
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-7'] }] },
    ]);
    expect(pinned.spec?.nodeName).toBeUndefined();
    expect(
      pinned.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]
        ?.labelSelector,
    ).toEqual({
      matchLabels: { [K8S_LABELS.managedBy]: 'benchyard', [K8S_LABELS.role]: 'benchmark' },
    });
    expect(bench(spec(), { exclusive: false }).spec?.affinity?.podAntiAffinity).toBeUndefined();
  });

  it('without afterExit passes the argv as args, one container, no volume', () => {
    const pod = bench(spec({ env: { A: '1' } }));
    const c = pod.spec?.containers[0];
    expect(c?.args).toEqual(['bench', '--n', '3']);
    expect(c?.command).toBeUndefined();
    expect(c?.env).toEqual([{ name: 'A', value: '1' }]);
    expect(pod.spec?.containers).toHaveLength(1);
    expect(pod.spec?.volumes).toBeUndefined();
    expect(pod.spec?.activeDeadlineSeconds).toBe(900);
    expect(pod.metadata?.annotations?.[OWNER_ANNOTATION]).toBeDefined();
    expect(JSON.parse(pod.metadata?.annotations?.['benchyard.io/labels'] ?? '')).toEqual({
      run: 'r1',
      cell: 'c1',
    });
  });

  it('with afterExit wraps the argv unchanged in the keep step, with a keeper and an emptyDir', () => {
    const argv = ['bench', 'a b', '$HOME', "it's", ''];
    const pod = bench(spec({ argv, afterExit: ['/out/score.json', '/out/art'] }));
    const [c, keeper] = pod.spec?.containers ?? [];
    expect(c?.command?.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(c?.command?.slice(3)).toEqual(['benchyard-keep', ...argv]);
    expect(c?.args).toBeUndefined();
    expect(c?.env).toContainEqual({ name: 'BENCHYARD_KEEP', value: '/out/score.json\n/out/art' });
    expect(c?.volumeMounts).toEqual([{ name: 'keep', mountPath: KEEP_DIR }]);
    expect(keeper?.name).toBe('keeper');
    expect(keeper?.volumeMounts).toEqual([{ name: 'keep', mountPath: KEEP_DIR, readOnly: true }]);
    expect(pod.spec?.volumes).toEqual([{ name: 'keep', emptyDir: {} }]);
  });

  it("with afterExit runs the image's ENTRYPOINT with the argv, or with its CMD when there is no argv, as Docker does", () => {
    const imageCommand = { entrypoint: ['/usr/bin/tini', '--'], cmd: ['run-bench', '--quick'] };
    const keep = { afterExit: ['/out/score.json'], imageCommand };
    const withArgv = bench(spec({ argv: ['run-bench', '--full'], ...keep })).spec?.containers[0];
    expect(withArgv?.command?.slice(3)).toEqual([
      'benchyard-keep',
      '/usr/bin/tini',
      '--',
      'run-bench',
      '--full',
    ]);
    const noArgv = bench(spec({ argv: [], ...keep })).spec?.containers[0];
    expect(noArgv?.command?.slice(3)).toEqual([
      'benchyard-keep',
      '/usr/bin/tini',
      '--',
      'run-bench',
      '--quick',
    ]);
    // Unknown image command and no argv: nothing to run under the keep step.
    expect(() => bench(spec({ argv: [], afterExit: ['/out/score.json'] }))).toThrow(/no command/);
  });
});

describe('the keep step, run by /bin/sh', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  /** Runs the pod's keep script with KEEP_DIR moved into a temp dir; answers the exit code and the kept tars' first entries. */
  const runKeep = (argv: string[], keep: string[]) => {
    dir = mkdtempSync(join(tmpdir(), 'by-keep-'));
    const keepDir = join(dir, 'keep');
    mkdirSync(keepDir);
    const pod = bench(spec({ argv, afterExit: keep }));
    const command = pod.spec?.containers[0]?.command ?? [];
    const script = command[2]!.split(KEEP_DIR).join(keepDir);
    const env = pod.spec?.containers[0]?.env?.find((e) => e.name === 'BENCHYARD_KEEP')?.value;
    // The container's own command, with only the keep folder moved.
    const r = spawnSync(command[0]!, [command[1]!, script, ...command.slice(3)], {
      env: { PATH: process.env.PATH, BENCHYARD_KEEP: env },
      encoding: 'utf8',
      timeout: 10_000,
    });
    const tars = readdirSync(keepDir).sort();
    const first = (t: string) =>
      spawnSync('tar', ['-tf', join(keepDir, t)], { encoding: 'utf8' }).stdout.split('\n')[0];
    return { code: r.status, stdout: r.stdout, tars: Object.fromEntries(tars.map((t) => [t, first(t)])) };
  };

  it("exits with the benchmark's code and tars each kept path under its base name", () => {
    const out = mkdtempSync(join(tmpdir(), 'by-out-'));
    try {
      writeFileSync(join(out, 'score.json'), '{}');
      mkdirSync(join(out, 'my art'));
      writeFileSync(join(out, 'my art', 'x'), 'x');
      const r = runKeep(
        ['sh', '-c', 'exit 3'],
        [join(out, 'score.json'), join(out, 'missing'), join(out, 'my art')],
      );
      expect(r.code).toBe(3);
      // The missing second path leaves no 1.tar; numbering follows the list.
      expect(r.tars).toEqual({ '0.tar': 'score.json', '2.tar': 'my art/' });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('passes arguments through untouched (spaces, $, quotes, empty)', () => {
    const args = ['a b', '$HOME', "it's", '', '*'];
    const r = runKeep(['sh', '-c', 'printf "<%s>" "$@"', 'x', ...args], ['/nonexistent']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(args.map((a) => `<${a}>`).join(''));
  });

  it('a benchmark that succeeds exits 0', () => {
    expect(runKeep(['true'], ['/nonexistent/file']).code).toBe(0);
  });
});

describe('agentPod', () => {
  const pod = agentPod({
    name: 'by-agent-k1-abcdef',
    owner,
    placement,
    node: 'node-7',
    image: 'agent@sha256:1',
    args: ['--x'],
    labels: { machine: 'm1' },
  });

  it('sees the host: PID and network namespaces, /proc and /sys read-only', () => {
    expect(pod.spec?.hostPID).toBe(true);
    expect(pod.spec?.hostNetwork).toBe(true);
    const c = pod.spec?.containers[0];
    expect(c?.volumeMounts).toEqual([
      { name: 'proc', mountPath: '/host/proc', readOnly: true },
      { name: 'sys', mountPath: '/host/sys', readOnly: true },
    ]);
    expect(pod.spec?.volumes?.map((v) => v.hostPath?.path)).toEqual(['/proc', '/sys']);
  });

  it('takes stdin (its command channel), runs on the node, passes its args', () => {
    const c = pod.spec?.containers[0];
    expect(c?.stdin).toBe(true);
    expect(c?.stdinOnce).toBe(true);
    expect(c?.command?.slice(-2)).toEqual(['benchyard-agent', '--x']);
    expect(
      pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]
        ?.matchFields?.[0]?.values,
    ).toEqual(['node-7']);
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
  });
});

describe('every pod benchyard creates', () => {
  it('gives each container CPU and memory requests and limits, as a namespace quota on them demands', () => {
    const pods = [
      holder(true),
      bench(spec()),
      bench(spec({ afterExit: ['/out/score.json'] }), { exclusive: false, nodeGpus: 0 }),
      agentPod({ name: 'a', owner, placement, node: 'n', image: 'i', args: [], labels: {} }),
      probePod({ name: 'p', owner, placement, nodes: ['n'], image: 'i', deadlineSeconds: 60 }),
    ];
    const containers = pods.flatMap((p) => p.spec!.containers.map((c) => [p.metadata!.name, c] as const));
    expect(containers.length).toBeGreaterThan(pods.length); // the keeper is among them
    for (const [pod, c] of containers)
      for (const kind of ['requests', 'limits'] as const)
        for (const resource of ['cpu', 'memory'])
          expect(c.resources?.[kind]?.[resource], `${pod}/${c.name} ${kind}.${resource}`).toBeDefined();
  });
});
