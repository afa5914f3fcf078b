/**
 * When a repetition's hardware counts as unhealthy (the matrix's `health:` block). A
 * repetition past any threshold is marked `suspect` with the reason: kept and shown, left
 * out of statistics unless asked for. Counts are what changed while the repetition ran;
 * shares are of the GPU samples taken while it ran.
 */
export interface HealthPolicy {
  /** Judge repetitions at all (false: no snapshots before and after each repetition). */
  enabled: boolean;
  /**
   * Share of a GPU's samples (0–1) with a thermal or hardware slowdown reason active (HW
   * slowdown, HW/SW thermal slowdown, HW power brake) above which it is suspect.
   */
  throttledShare: number;
  /** Share of a GPU's samples (0–1) with the software power cap active above which it is suspect. */
  powerCappedShare: number;
  /** New XID errors tolerated (those in `xidIgnore` not counted). */
  xid: number;
  /** XID codes not counted: NVIDIA lists a user application among their causes. */
  xidIgnore: readonly number[];
  /** New retired GPU memory pages tolerated (single- and double-bit together). */
  retiredPages: number;
  /** New remapped GPU memory rows tolerated (correctable and uncorrectable together). */
  remappedRows: number;
  /** New volatile uncorrectable ECC errors tolerated, per GPU. */
  eccUncorrectable: number;
  /** New volatile correctable ECC errors tolerated, per GPU; absent: not judged. */
  eccCorrectable?: number;
  /** New CPU thermal throttling events tolerated (packages and cores, each on its own). */
  cpuThrottle: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = {
  enabled: true,
  throttledShare: 0.1,
  powerCappedShare: 0.1,
  xid: 0,
  xidIgnore: [13, 31, 43, 45],
  retiredPages: 0,
  remappedRows: 0,
  eccUncorrectable: 0,
  cpuThrottle: 0,
};
