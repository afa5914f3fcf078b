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

/**
 * A GPU's PCI id as users write it → `vendor:device` in lowercase (`10de:2204`): `10de:2204`,
 * `0x10de:0x2204`, a device id alone (`2204`, `0x2204`: NVIDIA's vendor implied), or
 * nvidia-smi's `pci.device_id` (`0x220410DE`: device, then vendor). Undefined otherwise.
 */
export function parsePciId(text: string): string | undefined {
  const t = text.trim().toLowerCase();
  const pair = /^(?:0x)?([0-9a-f]{4}):(?:0x)?([0-9a-f]{4})$/.exec(t);
  if (pair) return `${pair[1]}:${pair[2]}`;
  const device = /^(?:0x)?([0-9a-f]{4})$/.exec(t);
  if (device) return `10de:${device[1]}`;
  const smi = /^(?:0x)?([0-9a-f]{4})([0-9a-f]{4})$/.exec(t);
  return smi ? `${smi[2]}:${smi[1]}` : undefined;
}

const PCI_FORMS = "'10de:2204' (vendor:device), '2204' or nvidia-smi's '0x220410DE'";

/**
 * One id or a list of them. YAML reads 2204 and 0x2204 as numbers (0x2204 becomes 8708), so
 * the text the user meant is gone: numbers are let through the type check only to be named
 * in a message (a type error here would reach the user as the outer union's "Invalid input").
 */
const pciIds = z
  .union([z.string(), z.number(), z.array(z.union([z.string(), z.number()])).min(1)])
  .superRefine((v, ctx) => {
    (Array.isArray(v) ? v : [v]).forEach((item, i) => {
      if (typeof item === 'string' && parsePciId(item)) return;
      ctx.addIssue({
        code: 'custom',
        path: Array.isArray(v) ? [i] : [],
        message:
          typeof item === 'number'
            ? `a PCI id must be quoted, e.g. '10de:2204' (YAML read ${item} as a number)`
            : `'${item}' is not a PCI id: ${PCI_FORMS}`,
      });
    });
  })
  .transform((v) => [...new Set((Array.isArray(v) ? v : [v]).map((item) => parsePciId(String(item))!))]);

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
  pci: pciIds
    .optional()
    .describe(
      `PCI ids the GPU may have, e.g. '10de:2204' or a list: ${PCI_FORMS}; with model, a GPU fits when either matches`,
    ),
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
      .describe('NVIDIA GPUs: true, a count, or { count, model, pci, driver, ids }'),
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
