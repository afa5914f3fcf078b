/**
 * XRT's `xbutil examine` host report (Xilinx/AMD Alveo and AWS F1/F2 cards): the XRT
 * version and, per device, its user-function BDF and shell (platform `vbnv`). Reads the
 * text report of XRT 2.7 and later and the JSON one (`--format JSON`).
 *
 * Text forms of the device list (see test/fixtures/fingerprint/SOURCE.md):
 *   2.7:   `  [0000:b3:00.1] : xilinx_u200_xdma_201830_3 (ID=0x5ee83d83)`
 *   2.12:  `  [0000:17:00.1] : xilinx_u200_gen3x16_xdma_base_1 [15FB8DA1-…] user(inst=129)`
 *   2.13+: a table `BDF : Shell  Platform UUID|Logic UUID  Device ID  Device Ready*`
 */
import { obj, str } from './json.js';

export interface XbutilDevice {
  bdf: string;
  shell: string;
  /** Platform/logic UUID or the 1RP timestamp id (`0x5e278820`). */
  id?: string;
  /** `user(inst=129)` or `mgmt(inst=25856)`. */
  instance?: string;
  ready?: boolean;
}

export interface XbutilReport {
  xrtVersion?: string;
  devices: XbutilDevice[];
}

const DEVICE_LINE = /^\s*\[([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\]\s*:\s*(\S+)(.*)$/i;
const UUID = /^\[?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|0x[0-9a-f]+)\]?$/i;

/** Parses the text report. Undefined when it is not one (no device list heading). */
export function parseXbutilText(text: string): XbutilReport | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^Devices( present)?\s*$/.test(l.trim()));
  if (start < 0) return undefined;
  const devices: XbutilDevice[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^-{10,}$/.test(line.trim()) && devices.length > 0) break; // per-device reports follow
    const m = DEVICE_LINE.exec(line);
    if (m) devices.push(device(m[1]!, m[2]!, m[3]!));
  }
  const xrt = lines.findIndex((l) => l.trim() === 'XRT');
  const version = xrt < 0 ? undefined : /^\s*Version\s*:\s*(\S+)/.exec(lines[xrt + 1] ?? '')?.[1];
  return { ...(version ? { xrtVersion: version } : {}), devices };
}

function device(bdf: string, shell: string, rest: string): XbutilDevice {
  const tokens = rest
    .replace(/\(ID=(0x[0-9a-f]+)\)/i, '$1')
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  const id = tokens.map((t) => UUID.exec(t)?.[1]).find(Boolean);
  const instance = tokens.find((t) => /^(user|mgmt)\(inst=\d+\)$/.test(t));
  const last = tokens.at(-1);
  return {
    bdf: bdf.toLowerCase(),
    shell,
    ...(id ? { id } : {}),
    ...(instance ? { instance } : {}),
    ...(last === 'Yes' || last === 'No' ? { ready: last === 'Yes' } : {}),
  };
}

/**
 * Parses `xbutil examine --format JSON` (schema `JSON`/`JSON-2020.2`, written by Boost's
 * property tree: every value is a string). Text around the JSON object (warnings) is
 * ignored. Undefined when there is no `system.host` object.
 */
export function parseXbutilJson(text: string): XbutilReport | undefined {
  const open = text.indexOf('{');
  const close = text.lastIndexOf('}');
  if (open < 0 || close < open) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text.slice(open, close + 1));
  } catch {
    return undefined;
  }
  const host = obj(obj(obj(doc)?.system)?.host);
  if (!host) return undefined;
  const version = str(obj(host.xrt)?.version);
  const devices: XbutilDevice[] = [];
  for (const d of Array.isArray(host.devices) ? host.devices : []) {
    const dev = obj(d);
    const bdf = str(dev?.bdf);
    const shell = str(dev?.vbnv) ?? str(dev?.name);
    if (!dev || !bdf || !shell) continue;
    const id = str(dev.id);
    const instance = str(dev.instance);
    const ready = str(dev.is_ready);
    devices.push({
      bdf: bdf.toLowerCase(),
      shell,
      ...(id && id !== 'n/a' ? { id } : {}),
      ...(instance && instance !== 'n/a' ? { instance } : {}),
      ...(ready === 'true' || ready === 'false' ? { ready: ready === 'true' } : {}),
    });
  }
  return { ...(version ? { xrtVersion: version } : {}), devices };
}
