/**
 * Target options of `provider: kubernetes`: nodes of a cluster, asked of its scheduler. A
 * machine is a node held by a holder pod; each repetition is a pod on that node.
 */
import { z } from 'zod';
import { duration } from '../common-schema.js';
import { machineCount } from './count.js';

/** A DNS-1123 label: namespaces, priority classes, secrets. */
const DNS_LABEL = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'a Kubernetes name (lowercase letters, digits, -; at most 63)',
  );

/** A label key (`prefix/name`) or value as Kubernetes takes them. */
const LABEL_KEY = z
  .string()
  .regex(
    /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/,
    'a label key such as cloud.google.com/gke-accelerator',
  );
const LABEL_VALUE = z
  .string()
  .regex(
    /^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/,
    'a label value (at most 63 letters, digits, - _ .)',
  );

/** A resource quantity: `2`, `500m`, `16Gi`, `1.5`. */
const QUANTITY = z.union([
  z.number().positive(),
  z.string().regex(/^\d+(\.\d+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/, 'a quantity such as 2, 500m or 16Gi'),
]);

const toleration = z.strictObject({
  key: LABEL_KEY.optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: LABEL_VALUE.optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.int().min(0).optional(),
});

export const kubernetesTarget = z.strictObject({
  context: z
    .string()
    .min(1)
    .max(253)
    .optional()
    .describe(
      'A context of the kubeconfig (KUBECONFIG or ~/.kube/config, as kubectl reads it); default: its current context',
    ),
  kubeconfig: z
    .string()
    .min(1)
    .optional()
    .describe('A kubeconfig file instead of KUBECONFIG / ~/.kube/config'),
  namespace: DNS_LABEL.default('default').describe('Where the pods are created (and its ResourceQuota read)'),
  nodeSelector: z
    .record(z.string(), LABEL_VALUE)
    .superRefine((labels, ctx) => {
      for (const key of Object.keys(labels))
        if (!LABEL_KEY.safeParse(key).success)
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `'${key}' is not a label key (such as cloud.google.com/gke-accelerator)`,
          });
    })
    .default({})
    .describe('Labels a node must carry, e.g. { cloud.google.com/gke-accelerator: nvidia-l4 }'),
  tolerations: z
    .array(toleration)
    .max(32)
    .default([])
    .describe('Taints the pods tolerate, e.g. [{ key: nvidia.com/gpu, operator: Exists }]'),
  exclusive: z
    .boolean()
    .default(true)
    .describe('One benchmark pod per node at a time, and no node shared with another benchyard session'),
  nodes: machineCount(256).describe('Nodes held at once: a number, or { min, max } to grow while cells wait'),
  cpu: QUANTITY.optional().describe(
    'CPU per benchmark pod (request = limit: Guaranteed QoS); default: what the node has left once it is held',
  ),
  memory: QUANTITY.optional().describe(
    'Memory per benchmark pod (request = limit); default: what the node has left',
  ),
  holderImage: z
    .string()
    .min(1)
    .default('registry.k8s.io/pause:3.10.1')
    .describe("The holder pod's image: the pause image every node has as its sandbox image"),
  imagePullSecrets: z
    .array(DNS_LABEL)
    .max(16)
    .default([])
    .describe('Secrets of the namespace the nodes pull with'),
  priorityClassName: DNS_LABEL.optional(),
  scheduleTimeout: duration(1000, 24 * 3_600_000)
    .default(600_000)
    .describe(
      'How long a benchmark pod may wait for its node (scheduling, image pull) before its repetition fails',
    ),
  holdTimeout: duration(1000, 7 * 24 * 3_600_000)
    .optional()
    .describe('How long to wait for a node to hold (default: as long as it takes, saying why it waits)'),
});

export type KubernetesTargetOptions = z.output<typeof kubernetesTarget>;
