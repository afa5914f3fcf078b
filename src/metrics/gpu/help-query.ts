/**
 * `nvidia-smi --help-query-gpu`: the fields a driver documents for `--query-gpu`. The GPU
 * stream asks it once when it starts and queries only documented fields, choosing per
 * reading the name this driver knows (the clock-reason mask was renamed in 535). Where the
 * help cannot be run or read, the stream falls back to `GPU_QUERY_FIELDS`, which every
 * recorded driver documents (test/fixtures/nvidia-smi-help/SOURCE.md).
 *
 * The help is one block per field: a line of the quoted name and its aliases
 * (`"name" or "gpu_name"`), then a description. Descriptions may start with a quoted word
 * (`"0: Default" means …`), so a name line is one whose whole text is quoted names.
 */
import { execFile } from 'node:child_process';
import { GPU_QUERY_WANTED, REQUIRED_GPU_QUERY_FIELDS, type GpuQueryField } from './query.js';

const HEADER = /^List of valid properties to query for the switch "--query-gpu=?":/m;
const NAME_LINE = /^"[^"]+"(?:\s+or\s+"[^"]+")*\s*$/;

/** Every field name and alias the help lists; undefined when the text is not that help. */
export function parseHelpQueryGpu(text: string): Set<string> | undefined {
  if (!HEADER.test(text)) return undefined;
  const names = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (NAME_LINE.test(line)) for (const m of line.matchAll(/"([^"]+)"/g)) names.add(m[1]!);
  }
  return names.size > 0 ? names : undefined;
}

export interface GpuFieldSelection {
  /** What to query, in `GPU_QUERY_WANTED` order. */
  fields: GpuQueryField[];
  /** Readings this driver documents none of the names of (their preferred name). */
  undocumented: GpuQueryField[];
  /** Documented fields that look like an energy counter (none on drivers 465 to 610). */
  energyFields: string[];
}

/**
 * Per wanted reading, the first of its names the driver documents. Undefined when a
 * required field (uuid) is missing: such a help is not to be trusted.
 */
export function selectGpuQueryFields(documented: ReadonlySet<string>): GpuFieldSelection | undefined {
  if (!REQUIRED_GPU_QUERY_FIELDS.every((f) => documented.has(f))) return undefined;
  const fields: GpuQueryField[] = [];
  const undocumented: GpuQueryField[] = [];
  for (const names of GPU_QUERY_WANTED) {
    const known = names.find((n) => documented.has(n));
    if (known) fields.push(known);
    else undocumented.push(names[0]!);
  }
  const energyFields = [...documented].filter((f) => /energy/i.test(f)).sort();
  return { fields, undocumented, energyFields };
}

/**
 * Runs `nvidia-smi --help-query-gpu` and reads it; undefined when it cannot be run, is
 * killed (timeout), or prints something else. Its exit status does not matter: the text does.
 * Never rejects.
 */
export function readHelpQueryGpu(command: string, timeoutMs = 15_000): Promise<Set<string> | undefined> {
  return new Promise((resolve) => {
    try {
      execFile(
        command,
        ['--help-query-gpu'],
        { encoding: 'utf8', maxBuffer: 8 * 1024 * 1024, timeout: timeoutMs, killSignal: 'SIGKILL' },
        (err, stdout) => {
          // A number is an exit status: the output is whole. Anything else (ENOENT, a
          // timeout's kill, an overflowing buffer) leaves nothing or a cut-off list.
          const whole = !err || (typeof err.code === 'number' && !err.killed);
          resolve(whole ? parseHelpQueryGpu(stdout) : undefined);
        },
      );
    } catch {
      resolve(undefined);
    }
  });
}
