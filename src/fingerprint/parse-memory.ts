/**
 * Memory, read from `/proc/meminfo` and the transparent hugepage setting in sysfs. Only
 * what a machine is configured with: free and cached amounts change by the second.
 */

export interface MemoryInfo {
  totalBytes: number;
  /** Reserved (static) huge pages: how many and their size. */
  hugepages?: { total: number; sizeBytes: number };
  /** `always`, `madvise` or `never`: the bracketed choice in `transparent_hugepage/enabled`. */
  transparentHugepages?: string;
}

/** Parses `/proc/meminfo`; undefined without a `MemTotal` line. */
export function parseMeminfo(text: string): MemoryInfo | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s*(.*)$/.exec(line.trim());
    if (m) fields.set(m[1]!, m[2]!);
  }
  const totalBytes = kib(fields.get('MemTotal'));
  if (totalBytes === undefined) return undefined;
  const total = fields.get('HugePages_Total');
  const sizeBytes = kib(fields.get('Hugepagesize'));
  return {
    totalBytes,
    ...(total !== undefined && /^\d+$/.test(total) && sizeBytes !== undefined
      ? { hugepages: { total: Number(total), sizeBytes } }
      : {}),
  };
}

/** `24683656 kB` → bytes. */
function kib(raw: string | undefined): number | undefined {
  const m = /^(\d+)\s*kB$/.exec(raw ?? '');
  return m ? Number(m[1]) * 1024 : undefined;
}

/** `always [madvise] never` → `madvise`. */
export function parseThp(text: string): string | undefined {
  return /\[(\w+)\]/.exec(text)?.[1];
}
