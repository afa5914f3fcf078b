/**
 * A GPU's health counters from `nvidia-smi -q -x` (schemas v10 to v13): retired pages,
 * remapped rows, volatile ECC error counts, and the clock event (throttle) reasons active
 * at that instant. Taken before and after each repetition: what changed in between is what
 * the repetition's judging (health.ts) looks at. `-d ECC,PAGE_RETIREMENT,ROW_REMAPPER`
 * would be shorter, but nvidia-smi documents `-d` as not working with `-x`, and its text
 * form is not a stable format.
 *
 * A value nvidia-smi gives as N/A (GeForce cards have no ECC, A100s no page retirement)
 * stays absent: nothing is judged on it, never as 0.
 */
import { NO_GPU, child, isNode, parseSmiLog, runSmiXml, text, type Node } from './smi-xml.js';

export interface GpuHealth {
  /** nvidia-smi's index: the GPU's place in the document. */
  index: number;
  uuid: string;
  /** e.g. `00000000:3B:00.0`, as the kernel log's XID lines name it (shorter). */
  pciBusId: string;
  /** Clock event reasons active now, by `GPU_THROTTLE_REASONS` name (`sw_power_cap`, …). */
  activeReasons: string[];
  retiredPages: { singleBit?: number; doubleBit?: number; pending?: boolean };
  remappedRows: { correctable?: number; uncorrectable?: number; pending?: boolean; failure?: boolean };
  /** Volatile ECC counts (since the driver loaded), SRAM and DRAM together. */
  ecc: { correctable?: number; uncorrectable?: number };
}

export type GpuHealthResult =
  | { status: 'known'; gpus: GpuHealth[] }
  | { status: 'none'; reason: string }
  | { status: 'unknown'; reason: string };

/** Parses `nvidia-smi -q -x` output. Throws when it is not an `nvidia_smi_log` document. */
export function parseGpuHealthXml(xml: string): GpuHealth[] {
  const { gpus } = parseSmiLog(xml);
  return gpus.map((gpu, index) => {
    const uuid = text(gpu, 'uuid');
    if (!uuid) throw new Error(`nvidia-smi -q -x output: GPU ${index} without <uuid>`);
    const id = gpu['@_id'];
    return {
      index,
      uuid,
      pciBusId: text(child(gpu, 'pci'), 'pci_bus_id') ?? (typeof id === 'string' ? id : ''),
      activeReasons: activeReasons(gpu),
      retiredPages: retiredPages(child(gpu, 'retired_pages')),
      remappedRows: remappedRows(child(gpu, 'remapped_rows')),
      ecc: volatileEcc(child(child(gpu, 'ecc_errors'), 'volatile')),
    };
  });
}

/** Runs `nvidia-smi -q -x` once; never rejects. */
export async function readGpuHealth(command = 'nvidia-smi', timeoutMs = 30_000): Promise<GpuHealthResult> {
  const { stdout, said, error } = await runSmiXml(command, timeoutMs);
  const first = said.split('\n')[0]!.slice(0, 200);
  if (error?.code === 'ENOENT') return { status: 'none', reason: `${command} not found` };
  if (error && !error.killed && NO_GPU.test(said)) return { status: 'none', reason: first };
  if (error)
    return {
      status: 'unknown',
      reason: error.killed
        ? `nvidia-smi -q -x took over ${timeoutMs} ms`
        : said
          ? `nvidia-smi -q -x: ${first}`
          : `could not run ${command}: ${error.message}`,
    };
  try {
    return { status: 'known', gpus: parseGpuHealthXml(stdout) };
  } catch (parseErr) {
    return NO_GPU.test(said)
      ? { status: 'none', reason: first }
      : { status: 'unknown', reason: (parseErr as Error).message };
  }
}

/** v11: `<clocks_throttle_reasons>`; v12+: `<clocks_event_reasons>`; each reason `Active` or `Not Active`. */
function activeReasons(gpu: Node): string[] {
  const reasons = child(gpu, 'clocks_event_reasons') ?? child(gpu, 'clocks_throttle_reasons');
  if (!reasons) return [];
  return Object.entries(reasons)
    .filter(([, v]) => typeof v === 'string' && v.trim() === 'Active')
    .map(([k]) =>
      k
        .replace(/^clocks_(event|throttle)_reason_/, '')
        // The XML's name for NVML's display clock setting bit.
        .replace(/^display_clocks_setting$/, 'display_clock_setting'),
    );
}

function retiredPages(node: Node | undefined): GpuHealth['retiredPages'] {
  return defined({
    singleBit: count(text(child(node, 'multiple_single_bit_retirement'), 'retired_count')),
    doubleBit: count(text(child(node, 'double_bit_retirement'), 'retired_count')),
    pending: yesNo(text(node, 'pending_retirement')),
  });
}

function remappedRows(node: Node | undefined): GpuHealth['remappedRows'] {
  return defined({
    correctable: count(text(node, 'remapped_row_corr')),
    uncorrectable: count(text(node, 'remapped_row_unc')),
    pending: yesNo(text(node, 'remapped_row_pending')),
    failure: yesNo(text(node, 'remapped_row_failure')),
  });
}

/**
 * v11/v12: `sram_correctable`, `sram_uncorrectable`, `dram_*`; v13 splits SRAM's
 * uncorrectable into `_parity` and `_secded`; v10 and older: `single_bit`/`double_bit`
 * with a `<total>` each.
 */
function volatileEcc(node: Node | undefined): GpuHealth['ecc'] {
  if (!node) return {};
  let correctable: number | undefined;
  let uncorrectable: number | undefined;
  const add = (sum: number | undefined, n: number | undefined) => (n === undefined ? sum : (sum ?? 0) + n);
  for (const [key, value] of Object.entries(node)) {
    const n = isNode(value) ? count(text(value, 'total')) : count(typeof value === 'string' ? value : '');
    if (key === 'double_bit' || /uncorrectable/.test(key)) uncorrectable = add(uncorrectable, n);
    else if (key === 'single_bit' || /correctable$/.test(key)) correctable = add(correctable, n);
  }
  return defined({ correctable, uncorrectable });
}

function count(raw: string | undefined): number | undefined {
  return raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : undefined;
}

function yesNo(raw: string | undefined): boolean | undefined {
  return raw === 'Yes' ? true : raw === 'No' ? false : undefined;
}

function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
