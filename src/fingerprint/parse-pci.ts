/**
 * PCI functions, from sysfs (the probe's `pci` section: the tool-free equivalent of
 * `lspci -nn`) or from `lspci -nn` output. Ids are lowercase 4-digit hex strings, as
 * lspci prints them (`10ee`, `5005`); slots are full `domain:bus:device.function` BDFs.
 */

export interface PciFunction {
  /** `0000:af:00.1` */
  slot: string;
  vendorId: string;
  deviceId: string;
  /** Class and subclass (`0302` = 3D controller, `1200` = processing accelerator). */
  classId?: string;
  subsystemVendorId?: string;
  subsystemDeviceId?: string;
  /** lspci's `vendor device` name (from the pci.ids database the host has), if it ran. */
  name?: string;
}

/**
 * Parses the probe's `pci` section: per function
 * `slot<TAB>vendor<TAB>device<TAB>class<TAB>subsystem_vendor<TAB>subsystem_device`,
 * values as sysfs writes them (`0x10ee`, class `0x120000`), `-` when unreadable.
 */
export function parseSysfsPci(text: string): PciFunction[] {
  const out: PciFunction[] = [];
  for (const line of text.split('\n')) {
    const [slot, vendor, device, cls, subVendor, subDevice] = line.split('\t').map((s) => s.trim());
    const vendorId = hex4(vendor);
    const deviceId = hex4(device);
    if (!slot || !isBdf(slot) || !vendorId || !deviceId) continue;
    const classId = /^0x([0-9a-f]{6})$/i
      .exec(cls ?? '')?.[1]
      ?.slice(0, 4)
      .toLowerCase();
    const subsystemVendorId = hex4(subVendor);
    const subsystemDeviceId = hex4(subDevice);
    out.push({
      slot: slot.toLowerCase(),
      vendorId,
      deviceId,
      ...(classId ? { classId } : {}),
      ...(subsystemVendorId ? { subsystemVendorId } : {}),
      ...(subsystemDeviceId ? { subsystemDeviceId } : {}),
    });
  }
  return out.sort((a, b) => a.slot.localeCompare(b.slot));
}

/**
 * One `lspci -nn` line: `af:00.1 Processing accelerators [1200]: Xilinx Corporation
 * Device [10ee:5005]`, maybe with a domain (`0000:af:00.1`, printed with `-D` or when
 * there are several), and `(rev 01)` / `(prog-if 01 [16450])` after the ids.
 */
const LSPCI_LINE =
  /^((?:[0-9a-f]{4,}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\s+.*?\[([0-9a-f]{4})\]:\s+(.*?)\s*\[([0-9a-f]{4}):([0-9a-f]{4})\](?:\s+\(rev [0-9a-f]+\))?(?:\s+\(prog-if [^)]*\))?\s*$/i;

export function parseLspci(text: string): PciFunction[] {
  const out: PciFunction[] = [];
  for (const line of text.split('\n')) {
    const m = LSPCI_LINE.exec(line.trim());
    if (!m) continue;
    const slot = m[1]!.toLowerCase();
    const name = m[3]!;
    out.push({
      slot: slot.split(':').length === 2 ? `0000:${slot}` : slot,
      vendorId: m[4]!.toLowerCase(),
      deviceId: m[5]!.toLowerCase(),
      classId: m[2]!.toLowerCase(),
      ...(name ? { name } : {}),
    });
  }
  return out.sort((a, b) => a.slot.localeCompare(b.slot));
}

/**
 * Functions from sysfs, named from lspci where both ran; lspci's list alone when there is
 * no sysfs section. Undefined when neither source is present.
 */
export function mergePci(sysfs?: PciFunction[], lspci?: PciFunction[]): PciFunction[] | undefined {
  if (!sysfs) return lspci;
  const names = new Map((lspci ?? []).map((f) => [f.slot, f.name]));
  return sysfs.map((f) => {
    const name = names.get(f.slot);
    return name ? { ...f, name } : f;
  });
}

/** `0000:af:00.1` → `0000:af:00`: the functions of one physical device (card) share it. */
export function deviceOf(slot: string): string {
  return slot.replace(/\.[0-7]$/, '');
}

function isBdf(s: string): boolean {
  return /^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i.test(s);
}

/** `0x10ee` → `10ee`. */
function hex4(raw: string | undefined): string | undefined {
  return /^0x([0-9a-f]{4})$/i.exec(raw ?? '')?.[1]?.toLowerCase();
}
