/**
 * Block devices, read from the probe's `disks` section: one line per `/sys/block/*` entry,
 * `name<TAB>size<TAB>rotational<TAB>model` with `-` where a file was unreadable. sysfs
 * gives `size` in 512-byte sectors whatever the device's logical block size.
 */

export interface DiskInfo {
  /** Kernel name: `nvme0n1`, `sda`, `vda`, `dm-0`. */
  name: string;
  sizeBytes: number;
  /** `queue/rotational`: true for spinning disks (and for some virtual disks, e.g. virtio). */
  rotational: boolean;
  /** `device/model`, where the driver exposes one. */
  model?: string;
}

const SECTOR = 512;
/** In-memory or file-backed devices: not storage a benchmark runs on. */
const VIRTUAL = /^(loop|ram|zram)\d*$/;

export function parseDisks(text: string): DiskInfo[] {
  const out: DiskInfo[] = [];
  for (const line of text.split('\n')) {
    const [name, size, rotational, model] = line.split('\t').map((s) => s.trim());
    if (!name || VIRTUAL.test(name) || !/^\d+$/.test(size ?? '')) continue;
    const sizeBytes = Number(size) * SECTOR;
    if (sizeBytes === 0) continue; // an empty drive (e.g. a CD-ROM without a medium)
    out.push({
      name,
      sizeBytes,
      rotational: rotational === '1',
      ...(model && model !== '-' ? { model } : {}),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
