/**
 * The operating system around the benchmarks: kernel release, `/etc/os-release`, and
 * whether the machine is bare metal, a virtual machine (which hypervisor) or a container.
 */

export interface OsInfo {
  /** `ID`: `debian`, `ubuntu`, `amzn`. */
  id?: string;
  /** `VERSION_ID`: `12`, `22.04`, `2023`. */
  versionId?: string;
  /** `PRETTY_NAME`: `Debian GNU/Linux 12 (bookworm)`. */
  prettyName?: string;
}

/**
 * `none` (bare metal), `container` (the "machine" is itself a container: LXC, systemd-nspawn,
 * OpenVZ), or the hypervisor: `nitro` (AWS), `kvm`, `xen`, `hyperv`, `vmware`,
 * `virtualbox`, and `vm` when the CPU says hypervisor but nothing names it.
 */
export type Virtualization =
  'none' | 'container' | 'nitro' | 'kvm' | 'xen' | 'hyperv' | 'vmware' | 'virtualbox' | 'vm';

/** The kernel release (`/proc/sys/kernel/osrelease`); undefined when empty. */
export function parseKernel(text: string): string | undefined {
  const k = text.trim();
  return k === '' ? undefined : k;
}

/** `6.1.0-18-amd64` → `6.1`. */
export function kernelMajorMinor(release: string): string | undefined {
  return /^(\d+\.\d+)/.exec(release)?.[1];
}

/** Parses os-release (shell-style `KEY=value`, values maybe quoted). */
export function parseOsRelease(text: string): OsInfo | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1]!, unquote(m[2]!));
  }
  const id = fields.get('ID');
  const versionId = fields.get('VERSION_ID');
  const prettyName = fields.get('PRETTY_NAME') ?? fields.get('NAME');
  if (!id && !versionId && !prettyName) return undefined;
  return {
    ...(id ? { id } : {}),
    ...(versionId ? { versionId } : {}),
    ...(prettyName ? { prettyName } : {}),
  };
}

function unquote(v: string): string {
  const m = /^(["'])(.*)\1$/.exec(v.trim());
  return (m ? m[2]! : v.trim()).replace(/\\(["'\\$`])/g, '$1');
}

/**
 * Decides the virtualization from the probe's `virt` section (`key=value` lines:
 * `sys_vendor`, `product_name` from DMI, `hypervisor_type` from /sys/hypervisor,
 * `container` from pid 1's environment) and whether cpuinfo carries the `hypervisor` flag.
 */
export function detectVirtualization(virt: string, hypervisorFlag: boolean): Virtualization {
  const kv = new Map<string, string>();
  for (const line of virt.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  if (kv.get('container')) return 'container';
  const vendor = kv.get('sys_vendor') ?? '';
  const product = kv.get('product_name') ?? '';
  // EC2 metal instances also say "Amazon EC2" but run no hypervisor: no CPU flag.
  if (/^Amazon EC2$/i.test(vendor)) return hypervisorFlag ? 'nitro' : 'none';
  if (kv.get('hypervisor_type') === 'xen' || /^Xen$/i.test(vendor)) return 'xen';
  if (/^QEMU$|^Google$|OpenStack|^Red Hat$|^DigitalOcean$|^Hetzner$/i.test(vendor)) return 'kvm';
  if (/^Microsoft Corporation$/i.test(vendor) && /Virtual Machine/i.test(product)) return 'hyperv';
  if (/VMware/i.test(vendor)) return 'vmware';
  if (/innotek|VirtualBox/i.test(vendor + product)) return 'virtualbox';
  if (/^KVM$/i.test(product)) return 'kvm';
  return hypervisorFlag ? 'vm' : 'none';
}
