/**
 * `nvidia-smi -q -x` as both readers of it see it (the inventory: what GPUs a machine has;
 * the health snapshot: their counters): running it once, what says "no GPU", and the XML
 * walked as plain objects (fast-xml-parser, attributes as `@_name`, every value a string).
 */
import { execFile } from 'node:child_process';
import { XMLParser } from 'fast-xml-parser';

export type Node = { [key: string]: unknown };

/** What nvidia-smi prints when there is no usable GPU or driver. */
export const NO_GPU =
  /No devices were found|NVIDIA-SMI has failed|couldn't communicate with the NVIDIA driver|Driver\/library version mismatch/i;

/** How one `nvidia-smi -q -x` ended: its output, and the error where it failed. Never rejects. */
export interface SmiRun {
  stdout: string;
  /** stdout and stderr, trimmed: what a message quotes. */
  said: string;
  error?: (Error & { code?: string | number | null | undefined; killed?: boolean | undefined }) | undefined;
}

export function runSmiXml(command: string, timeoutMs: number): Promise<SmiRun> {
  return new Promise((resolve) => {
    try {
      execFile(
        command,
        ['-q', '-x'],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, killSignal: 'SIGKILL' },
        (err, stdout, stderr) =>
          resolve({ stdout, said: `${stdout}\n${stderr}`.trim(), ...(err ? { error: err } : {}) }),
      );
    } catch (err) {
      resolve({ stdout: '', said: '', error: err as Error });
    }
  });
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
});

/** The `<nvidia_smi_log>` element and its `<gpu>` elements. Throws when it is not that document. */
export function parseSmiLog(xml: string): { log: Node; gpus: Node[] } {
  const log = child(parser.parse(xml), 'nvidia_smi_log');
  if (!log) throw new Error('not nvidia-smi -q -x output: no <nvidia_smi_log> element');
  return { log, gpus: (Array.isArray(log.gpu) ? log.gpu : [log.gpu]).filter(isNode) };
}

export function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function child(node: unknown, key: string): Node | undefined {
  if (!isNode(node)) return undefined;
  const v = node[key];
  return isNode(v) ? v : undefined;
}

/** An element's text; undefined when absent, empty or N/A. */
export function text(node: Node | undefined, key: string): string | undefined {
  const v = node?.[key];
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s === '' || /^N\/A$/i.test(s) ? undefined : s;
}
