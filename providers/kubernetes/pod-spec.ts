/**
 * The pods benchyard creates, built as plain objects (pure; unit-tested):
 *
 * - the **holder** (one per machine): holds a node for a session. The scheduler places it
 *   by the target's node selector and tolerations; on an exclusive target its required
 *   anti-affinity keeps every other holder (any session, any controller) off its node. It
 *   asks for almost nothing and runs the node's own sandbox image (pause), so it costs the
 *   node nothing while benchmarks run. `activeDeadlineSeconds` ends it if benchyard cannot.
 * - a **benchmark** pod per repetition: a bare pod with `restartPolicy: Never` (not a Job:
 *   a repetition is exactly one run of the container, and benchyard's own retry of an `INFRA`
 *   failure is the only retry), pinned to the holder's node by required node affinity, with
 *   anti-affinity against other benchmark pods on exclusive targets, Guaranteed QoS (CPU and
 *   memory requests = limits), `nvidia.com/gpu` from `requires`, its deadline the
 *   repetition's timeout plus a grace. Files asked for after exit (`ContainerSpec.afterExit`)
 *   are kept in an `emptyDir` by a shell step after the benchmark (so those images need `sh`
 *   and `tar`, as `kubectl cp` needs `tar`) and a `keeper` container keeps the pod alive to
 *   copy them out by exec.
 * - the **agent** pod: benchyard's metrics agent on the node (host PID and network, the
 *   host's /proc and /sys read-only), talking over its attach stream.
 */
import type { ContainerSpec } from '../../src/core/index.js';
import { InfrastructureError } from '../../src/core/index.js';
import type { V1Pod, V1Toleration } from './api.js';
import type { KubernetesTargetOptions } from '../../src/config/targets/kubernetes.js';
import {
  encodeOwner,
  K8S_LABELS,
  LABELS_ANNOTATION,
  MANAGED_BY,
  OWNER_ANNOTATION,
  ownerLabelsOf,
  type PodOwner,
  type PodRole,
} from './identity.js';

export const BENCH_CONTAINER = 'bench';
export const KEEPER_CONTAINER = 'keeper';
export const AGENT_CONTAINER = 'agent';
export const PROBE_CONTAINER = 'probe';
/** Where kept files wait (an emptyDir shared by bench and keeper): `<n>.tar` for the n-th path. */
export const KEEP_DIR = '/.benchyard-keep';
/** The agent's script in its image (images/agent/Dockerfile). */
const AGENT_SCRIPT = '/opt/benchyard/agent.cjs';
/** The GPU resource of NVIDIA's device plugin. */
export const GPU_RESOURCE = 'nvidia.com/gpu';
const HOSTNAME_KEY = 'kubernetes.io/hostname';

/** What every pod of a target shares: where it may go. */
export interface Placement {
  nodeSelector: Readonly<Record<string, string>>;
  tolerations: readonly V1Toleration[];
  imagePullSecrets: readonly string[];
  priorityClassName?: string;
}

function base(name: string, owner: PodOwner, role: PodRole, extra: Record<string, string> = {}) {
  return {
    name,
    labels: { ...ownerLabelsOf(owner, role), ...extra },
    annotations: { [OWNER_ANNOTATION]: encodeOwner(owner) },
  };
}

/** A target's placement options. */
export function placementOf(o: KubernetesTargetOptions): Placement {
  return {
    nodeSelector: o.nodeSelector,
    tolerations: o.tolerations,
    imagePullSecrets: o.imagePullSecrets,
    ...(o.priorityClassName ? { priorityClassName: o.priorityClassName } : {}),
  };
}

function placementSpec(p: Placement) {
  return {
    ...(Object.keys(p.nodeSelector).length ? { nodeSelector: { ...p.nodeSelector } } : {}),
    ...(p.tolerations.length ? { tolerations: p.tolerations.map((t) => ({ ...t })) } : {}),
    ...(p.imagePullSecrets.length ? { imagePullSecrets: p.imagePullSecrets.map((name) => ({ name })) } : {}),
    ...(p.priorityClassName ? { priorityClassName: p.priorityClassName } : {}),
    // Benchmarks need no API access; a token in the pod would only be something to leak.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    restartPolicy: 'Never',
  };
}

/**
 * Pins a pod to one node through the scheduler (not `nodeName`, which would bypass its
 * resource checks), by the node's name (`matchFields`: the hostname label need not be it).
 */
function onNode(node: string) {
  return onNodes([node]);
}

function onNodes(nodes: readonly string[]) {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [...nodes] }] }],
      },
    },
  };
}

function awayFrom(labels: Record<string, string>) {
  return {
    requiredDuringSchedulingIgnoredDuringExecution: [
      { labelSelector: { matchLabels: labels }, topologyKey: HOSTNAME_KEY },
    ],
  };
}

export function holderPod(o: {
  name: string;
  owner: PodOwner;
  placement: Placement;
  exclusive: boolean;
  image: string;
  deadlineSeconds: number;
  /** Only these nodes (those with the GPUs the target's cells need); any the selector matches when absent. */
  nodes?: readonly string[];
}): V1Pod {
  const holders = { [K8S_LABELS.managedBy]: MANAGED_BY, [K8S_LABELS.role]: 'holder' };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: base(o.name, o.owner, 'holder', o.exclusive ? { [K8S_LABELS.exclusive]: 'true' } : {}),
    spec: {
      ...placementSpec(o.placement),
      affinity: {
        ...(o.nodes ? onNodes(o.nodes) : {}),
        // Exclusive: no other holder on this node; shared: none where an exclusive one is.
        podAntiAffinity: awayFrom(o.exclusive ? holders : { ...holders, [K8S_LABELS.exclusive]: 'true' }),
      },
      activeDeadlineSeconds: o.deadlineSeconds,
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'hold',
          image: o.image,
          imagePullPolicy: 'IfNotPresent',
          resources: { requests: { cpu: '1m', memory: '8Mi' }, limits: { cpu: '10m', memory: '16Mi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
        },
      ],
    },
  };
}

/** What a benchmark pod gets of its node: CPU and memory (requests = limits), GPUs. */
export interface PodResources {
  /** CPU in millicores. */
  milliCpu: number;
  memoryBytes: number;
  /** The node's GPU count, for `requires: { gpu: { count: all } }`. */
  nodeGpus: number;
}

export function gpuCount(spec: ContainerSpec, nodeGpus: number): number {
  const gpu = spec.access?.gpu;
  if (!gpu) return 0;
  if (gpu.ids?.length)
    throw new InfrastructureError(
      'requires.gpu.ids names GPUs of one machine; on Kubernetes the device plugin picks them: ask for a count',
    );
  return gpu.count === 'all' ? Math.max(1, nodeGpus) : gpu.count;
}

/** Refuses what a pod cannot be given the way Docker gives it: device nodes without a device plugin. */
function checkAccess(spec: ContainerSpec): void {
  const a = spec.access;
  if (!a) return;
  const devices = [...a.devices, ...(a.fpga?.devices ?? [])];
  if (devices.length || a.deviceCgroupRules.length)
    throw new InfrastructureError(
      `the benchmark passes device nodes (${devices.map((d) => d.host).join(', ') || a.deviceCgroupRules.join(', ')}); a Kubernetes pod gets devices only from a device plugin: ask for its resource instead`,
    );
  if (spec.readOnlyMounts && Object.keys(spec.readOnlyMounts).length)
    throw new InfrastructureError(
      "the cell mounts host folders ('inputs'); a pod has no access to the controller's files: bake the inputs into the image",
    );
}

/** The shell step that keeps `afterExit` files: runs the benchmark, tars each path, exits with its code. */
const KEEP_SCRIPT = [
  '"$@"',
  'c=$?',
  'i=0',
  `printf '%s\\n' "$BENCHYARD_KEEP" | while IFS= read -r p; do`,
  '  [ -n "$p" ] || continue',
  `  tar -cf "${KEEP_DIR}/$i.tar" -C "$(dirname -- "$p")" -- "$(basename -- "$p")" 2>/dev/null || rm -f "${KEEP_DIR}/$i.tar"`,
  '  i=$((i+1))',
  'done',
  'exit $c',
].join('\n');

export function benchmarkPod(o: {
  name: string;
  owner: PodOwner;
  placement: Placement;
  node: string;
  exclusive: boolean;
  spec: ContainerSpec;
  resources: PodResources;
  deadlineSeconds: number;
}): V1Pod {
  const { spec } = o;
  checkAccess(spec);
  const gpus = gpuCount(spec, o.resources.nodeGpus);
  const limits: Record<string, string> = {
    cpu: `${Math.max(1, Math.floor(o.resources.milliCpu))}m`,
    memory: String(Math.floor(o.resources.memoryBytes)),
    ...(gpus ? { [GPU_RESOURCE]: String(gpus) } : {}),
  };
  const keep = spec.afterExit ?? [];
  // Docker's rule: the image's ENTRYPOINT runs with the argv, or with its CMD when there is none.
  const entrypoint = spec.imageCommand?.entrypoint ?? [];
  const line = [...entrypoint, ...(spec.argv.length ? spec.argv : (spec.imageCommand?.cmd ?? []))];
  if (keep.length && (line.length === 0 || (spec.argv.length === 0 && !spec.imageCommand)))
    throw new InfrastructureError(
      "the benchmark declares score files or artifacts but no command, and the image's own is not known: on Kubernetes its command runs under the step that keeps the files, so give it one",
    );
  const env = Object.entries(spec.env ?? {}).map(([name, value]) => ({ name, value }));
  if (keep.length) env.push({ name: 'BENCHYARD_KEEP', value: keep.join('\n') });
  const securityContext = {
    allowPrivilegeEscalation:
      spec.policy?.noNewPrivileges === false || spec.access?.privileged ? undefined : false,
    ...(spec.access?.privileged ? { privileged: true } : {}),
  };
  const keepVolume = { name: 'keep', mountPath: KEEP_DIR };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...base(o.name, o.owner, 'benchmark'),
      annotations: {
        [OWNER_ANNOTATION]: encodeOwner(o.owner),
        [LABELS_ANNOTATION]: JSON.stringify(spec.labels),
      },
    },
    spec: {
      ...placementSpec(o.placement),
      affinity: {
        ...onNode(o.node),
        ...(o.exclusive
          ? {
              podAntiAffinity: awayFrom({
                [K8S_LABELS.managedBy]: MANAGED_BY,
                [K8S_LABELS.role]: 'benchmark',
              }),
            }
          : {}),
      },
      activeDeadlineSeconds: o.deadlineSeconds,
      terminationGracePeriodSeconds: 0,
      ...(keep.length ? { volumes: [{ name: 'keep', emptyDir: {} }] } : {}),
      containers: [
        {
          name: BENCH_CONTAINER,
          image: spec.image,
          imagePullPolicy: 'IfNotPresent',
          ...(keep.length
            ? { command: ['/bin/sh', '-c', KEEP_SCRIPT, 'benchyard-keep', ...line] }
            : spec.argv.length
              ? { args: [...spec.argv] }
              : {}),
          ...(env.length ? { env } : {}),
          resources: { requests: limits, limits },
          securityContext,
          ...(keep.length ? { volumeMounts: [keepVolume] } : {}),
        },
        ...(keep.length
          ? [
              {
                name: KEEPER_CONTAINER,
                image: spec.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['/bin/sh', '-c', "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"],
                resources: {
                  requests: { cpu: '10m', memory: '16Mi' },
                  limits: { cpu: '10m', memory: '16Mi' },
                },
                securityContext: { allowPrivilegeEscalation: false },
                volumeMounts: [{ ...keepVolume, readOnly: true }],
              },
            ]
          : []),
      ],
    },
  };
}

/** The metrics agent on `node`: host PID and network, the host's /proc and /sys read-only under /host. */
export function agentPod(o: {
  name: string;
  owner: PodOwner;
  placement: Placement;
  node: string;
  image: string;
  args: readonly string[];
  labels: Readonly<Record<string, string>>;
}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...base(o.name, o.owner, 'agent'),
      annotations: {
        [OWNER_ANNOTATION]: encodeOwner(o.owner),
        [LABELS_ANNOTATION]: JSON.stringify(o.labels),
      },
    },
    spec: {
      ...placementSpec(o.placement),
      affinity: onNode(o.node),
      hostPID: true,
      hostNetwork: true,
      terminationGracePeriodSeconds: 0,
      volumes: [
        { name: 'proc', hostPath: { path: '/proc', type: 'Directory' } },
        { name: 'sys', hostPath: { path: '/sys', type: 'Directory' } },
      ],
      containers: [
        {
          name: AGENT_CONTAINER,
          image: o.image,
          imagePullPolicy: 'IfNotPresent',
          // It starts once the controller has attached and sent a line: nothing it says
          // (its `ready` first) is printed before anyone listens. Its stdin closing (the
          // controller gone) ends it.
          command: [
            '/bin/sh',
            '-c',
            `IFS= read -r _ && exec node ${AGENT_SCRIPT} "$@"`,
            'benchyard-agent',
            ...o.args,
          ],
          stdin: true,
          stdinOnce: true,
          tty: false,
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } },
          volumeMounts: [
            { name: 'proc', mountPath: '/host/proc', readOnly: true },
            { name: 'sys', mountPath: '/host/sys', readOnly: true },
          ],
          securityContext: { allowPrivilegeEscalation: false },
        },
      ],
    },
  };
}

/**
 * `doctor`'s pull probe: `image` (by digest, from the run's registry) pulled afresh
 * (`Always`) on one of `nodes`, running `true`. It asks for next to nothing and keeps away
 * from no holder, so it fits beside a held node's benchmarks; its deadline ends it if
 * doctor cannot.
 */
export function probePod(o: {
  name: string;
  owner: PodOwner;
  placement: Placement;
  nodes: readonly string[];
  image: string;
  deadlineSeconds: number;
}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: base(o.name, o.owner, 'probe'),
    spec: {
      ...placementSpec(o.placement),
      affinity: onNodes(o.nodes),
      activeDeadlineSeconds: o.deadlineSeconds,
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: PROBE_CONTAINER,
          image: o.image,
          imagePullPolicy: 'Always',
          command: ['true'],
          resources: { requests: { cpu: '1m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
          securityContext: { allowPrivilegeEscalation: false },
        },
      ],
    },
  };
}
