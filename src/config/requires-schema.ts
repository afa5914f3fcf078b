/**
 * `requires:` of a benchmark (or a matrix entry): the GPUs, FPGA cards and device nodes it
 * needs. Devices are written as Docker does (`/dev/x`, `/dev/x:/dev/y`, `/dev/x:/dev/y:rw`)
 * or as `{ path, container, permissions }`.
 */
import { z } from 'zod';
import type { DeviceMapping, Requirements } from '../core/index.js';

const DEV_PATH = /^\/dev\/[^\0:]+$/;
const PERMISSIONS = /^(?!.*(.).*\1)[rwm]{1,3}$/;

const deviceMapping = z
  .union(
    [
      z.string().transform((text, ctx): DeviceMapping => {
        const [host = '', container = host, permissions = 'rwm', ...rest] = text.split(':');
        if (
          !DEV_PATH.test(host) ||
          !DEV_PATH.test(container) ||
          !PERMISSIONS.test(permissions) ||
          rest.length
        )
          ctx.addIssue({
            code: 'custom',
            message: `'${text}' is not a device: /dev/<name>[:/dev/<in container>[:rwm]]`,
          });
        return { host, container, permissions };
      }),
      z
        .strictObject({
          path: z.string().regex(DEV_PATH, 'a device node under /dev'),
          container: z.string().regex(DEV_PATH, 'a path under /dev').optional(),
          permissions: z.string().regex(PERMISSIONS, 'some of r, w, m').default('rwm'),
        })
        .transform((d): DeviceMapping => ({
          host: d.path,
          container: d.container ?? d.path,
          permissions: d.permissions,
        })),
    ],
    { error: 'a device: /dev/<name>[:/dev/<in container>[:rwm]] or { path, container, permissions }' },
  )
  .describe('A device node of the machine passed to the container');

/** `>=450 <=470`, `535`, `>=525.60`: comparisons of dotted numbers, all of which must hold. */
export const DRIVER_RANGE = /^\s*((>=|<=|>|<|=)?\s*\d+(\.\d+)*\s*)+$/;

const gpu = z.strictObject({
  count: z
    .union([z.int().min(1).max(64), z.literal('all')])
    .default(1)
    .describe("GPUs the container gets, or 'all'"),
  model: z
    .string()
    .min(1)
    .refine(isRegex, { message: 'not a valid regular expression' })
    .optional()
    .describe("Case-insensitive pattern on the GPU's name, e.g. 'K80|V100|T4|H100'"),
  driver: z
    .string()
    .regex(DRIVER_RANGE, "a driver range such as '>=450 <=470'")
    .optional()
    .describe('NVIDIA driver versions allowed'),
  ids: z.array(z.string().min(1)).min(1).optional().describe('Specific GPUs: indexes or UUIDs'),
});

export const requiresSchema = z
  .strictObject({
    gpu: z
      .union([z.literal(true), z.int().min(1).max(64), gpu])
      .transform((g) => (g === true ? gpu.parse({}) : typeof g === 'number' ? gpu.parse({ count: g }) : g))
      .optional()
      .describe('NVIDIA GPUs: true, a count, or { count, model, driver, ids }'),
    fpga: z
      .strictObject({
        vendor: z.enum(['xilinx', 'intel', 'amazon']).optional(),
        devices: z.array(deviceMapping).default([]),
      })
      .optional(),
    devices: z.array(deviceMapping).default([]),
    deviceCgroupRules: z
      .array(
        z.string().regex(/^[abc] (\*|\d+):(\*|\d+) (?!.*(.).*\3)[rwm]{1,3}$/, "a rule such as 'c 195:* rwm'"),
      )
      .default([]),
    privileged: z.boolean().default(false).describe('A privileged container (shown in the plan)'),
  })
  .transform((r): Requirements => ({
    ...(r.gpu ? { gpu: { ...r.gpu } } : {}),
    ...(r.fpga ? { fpga: r.fpga } : {}),
    devices: r.devices,
    deviceCgroupRules: r.deviceCgroupRules,
    privileged: r.privileged,
  }));

function isRegex(r: string): boolean {
  try {
    new RegExp(r, 'i');
    return true;
  } catch {
    return false;
  }
}
