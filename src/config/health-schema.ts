/**
 * The matrix's `health:` block: when a repetition counts as run on unhealthy hardware
 * (`HealthPolicy`). Every key has a default; `health: false` switches judging off.
 */
import { z } from 'zod';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy } from '../core/index.js';

/** A share as 0–1 or a percentage (`'10%'`). */
const share = z
  .union([
    z.number().min(0).max(1),
    z
      .string()
      .regex(/^\d+(\.\d+)?%$/, "a share from 0 to 1 or a percentage such as '10%'")
      .transform((v) => Number(v.slice(0, -1)) / 100)
      .pipe(z.number().max(1, 'at most 100%')),
  ])
  .transform((v) => (typeof v === 'number' ? v : Number(v)));

const tolerated = z.int().min(0).max(1_000_000_000);
const d = DEFAULT_HEALTH_POLICY;

const block = z.strictObject({
  throttledShare: share
    .default(d.throttledShare)
    .describe(
      "A GPU's share of samples with a thermal or hardware slowdown active (HW slowdown, HW/SW thermal, HW power brake) above which the repetition is suspect",
    ),
  powerCappedShare: share
    .default(d.powerCappedShare)
    .describe("A GPU's share of samples with the software power cap active above which it is suspect"),
  xid: tolerated.default(d.xid).describe('New XID errors in the kernel log tolerated per repetition'),
  xidIgnore: z
    .array(z.int().min(1).max(1000))
    .default([...d.xidIgnore])
    .describe(
      'XID codes not counted (default 13, 31, 43, 45: NVIDIA lists a user application among their causes)',
    ),
  retiredPages: tolerated.default(d.retiredPages).describe('New retired GPU memory pages tolerated'),
  remappedRows: tolerated.default(d.remappedRows).describe('New remapped GPU memory rows tolerated'),
  eccUncorrectable: tolerated
    .default(d.eccUncorrectable)
    .describe('New volatile uncorrectable ECC errors tolerated per GPU'),
  eccCorrectable: tolerated
    .optional()
    .describe('New volatile correctable ECC errors tolerated per GPU (default: not judged)'),
  cpuThrottle: tolerated
    .default(d.cpuThrottle)
    .describe('New CPU thermal throttling events tolerated (packages and cores each)'),
});

export const healthConfig = z
  .union([z.boolean(), block])
  .describe(
    'When a repetition counts as run on unhealthy hardware: marked suspect, kept and shown, left out of statistics unless --include-suspect (false: not judged)',
  );

export type HealthConfig = z.output<typeof healthConfig>;

/** The block as the run uses it: absent or `true` is every default. */
export function healthPolicy(config: HealthConfig | undefined): HealthPolicy {
  if (config === undefined || config === true) return DEFAULT_HEALTH_POLICY;
  if (config === false) return { ...DEFAULT_HEALTH_POLICY, enabled: false };
  const { eccCorrectable, ...rest } = config;
  return { enabled: true, ...rest, ...(eccCorrectable !== undefined ? { eccCorrectable } : {}) };
}
