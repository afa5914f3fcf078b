/**
 * The fingerprint probe: a POSIX `sh` script run in a one-shot container on the machine,
 * and the parser of what it prints.
 *
 * The container sees the host's `/proc` at `/host/proc`, `/sys` at `/host/sys` and
 * `/etc/os-release` at `/host/etc/os-release` (read-only). The image may be a bare Debian
 * minbase: the script needs only `sh`, `cat`, `basename`, `tr` and `grep`; `timeout`,
 * `lspci`, `nvidia-smi` and `xbutil` are used when present.
 *
 * Output: sections, each opened by a marker line `==> benchyard:NAME <==` (the `tail`
 * header style, namespaced so no tool output is mistaken for one). A source that is
 * missing or unreadable prints no section. The last section is `end`: without it the
 * output was cut short (timeout, kill).
 */

/** The marker line that opens a section. */
export const SECTION_MARKER = /^==> benchyard:(.+) <==$/;

/** Sections that describe the probe itself, not the machine. */
export const META_SECTIONS = ['probe', 'end', 'tools'] as const;

/**
 * The script. `BENCHYARD_PROBE_ROOT` moves the host root: unset → `/host` (in the probe
 * container), `/` → no prefix (run directly on a machine, as tests do).
 */
export const PROBE_SCRIPT = String.raw`
case "$BENCHYARD_PROBE_ROOT" in
  '') H=/host ;;
  /) H= ;;
  *) H=$BENCHYARD_PROBE_ROOT ;;
esac
T=
if command -v timeout >/dev/null 2>&1; then T='timeout 60'; fi
S=
sec() { printf '\n==> benchyard:%s <==\n' "$1"; }
one() { _v=; { IFS= read -r _v <"$1"; } 2>/dev/null; [ -n "$_v" ] || _v=-; printf '%s' "$_v"; }
put() { if [ -r "$2" ]; then sec "$1"; cat "$2" 2>/dev/null; fi; }
kv() { if [ -r "$2" ]; then printf '%s=%s\n' "$1" "$(one "$2")"; fi; }

printf '==> benchyard:probe <==\nversion=1\n'
put cpuinfo "$H/proc/cpuinfo"
put governor "$H/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
C="$H/sys/devices/system/cpu/cpu0/cache"
if [ -d "$C" ]; then
  sec caches
  for d in "$C"/index*; do
    [ -d "$d" ] && printf '%s\t%s\t%s\n' "$(one "$d/level")" "$(one "$d/type")" "$(one "$d/size")"
  done
fi
put meminfo "$H/proc/meminfo"
put thp "$H/sys/kernel/mm/transparent_hugepage/enabled"
put kernel "$H/proc/sys/kernel/osrelease"
put os-release "$H/etc/os-release"
if [ -d "$H/sys/block" ]; then
  sec disks
  for d in "$H"/sys/block/*; do
    [ -e "$d" ] || continue
    n=$(basename "$d")
    case $n in loop*|ram*|zram*) continue ;; esac
    printf '%s\t%s\t%s\t%s\n' "$n" "$(one "$d/size")" "$(one "$d/queue/rotational")" "$(one "$d/device/model")"
  done
fi
sec virt
kv sys_vendor "$H/sys/class/dmi/id/sys_vendor"
kv product_name "$H/sys/class/dmi/id/product_name"
kv hypervisor_type "$H/sys/hypervisor/type"
if [ -d "$H/proc/vz" ] && [ ! -d "$H/proc/bc" ]; then echo container=openvz; fi
tr '\0' '\n' 2>/dev/null <"$H/proc/1/environ" | grep '^container=' 2>/dev/null
P="$H/sys/bus/pci/devices"
if [ -d "$P" ]; then
  sec pci
  for d in "$P"/*; do
    [ -e "$d" ] || continue
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$d")" "$(one "$d/vendor")" "$(one "$d/device")" \
      "$(one "$d/class")" "$(one "$d/subsystem_vendor")" "$(one "$d/subsystem_device")"
  done
fi
put nvidia-driver "$H/proc/driver/nvidia/version"
for d in "$H"/proc/driver/nvidia/gpus/*; do
  [ -e "$d" ] && put "nvidia-gpu $(basename "$d")" "$d/information"
done
if command -v lspci >/dev/null 2>&1; then sec lspci; $T lspci -nn; S="$S lspci=$?"; fi
if command -v nvidia-smi >/dev/null 2>&1; then sec nvidia-smi; $T nvidia-smi -q -x; S="$S nvidia-smi=$?"; fi
X=$(command -v xbutil 2>/dev/null)
if [ -z "$X" ] && [ -x /opt/xilinx/xrt/bin/xbutil ]; then X=/opt/xilinx/xrt/bin/xbutil; fi
if [ -n "$X" ]; then
  sec xbutil; $T "$X" examine; S="$S xbutil=$?"
  J=/tmp/benchyard-xbutil-$$.json
  if $T "$X" examine --format JSON --output "$J" --force >/dev/null 2>&1; then put xbutil-json "$J"; fi
  rm -f "$J"
fi
if [ -n "$S" ]; then sec tools; for s in $S; do echo "$s"; done; fi
sec end
`;

export interface ProbeOutput {
  /** Section name → its text (trailing newlines removed); meta sections included. */
  sections: Record<string, string>;
  /** Whether the `end` marker arrived, i.e. the script ran to its last line. */
  complete: boolean;
}

/** Splits probe output into sections. Text before the first marker is ignored. */
export function parseProbeOutput(stdout: string): ProbeOutput {
  const sections: Record<string, string> = {};
  let name: string | undefined;
  let lines: string[] = [];
  const close = () => {
    if (name !== undefined) sections[name] = lines.join('\n').replace(/\n+$/, '');
  };
  for (const line of stdout.split('\n')) {
    const m = SECTION_MARKER.exec(line);
    if (!m) {
      lines.push(line);
      continue;
    }
    close();
    name = m[1]!;
    lines = [];
  }
  close();
  return { sections, complete: 'end' in sections };
}

/** Exit statuses the script recorded for the tools it ran (`tools` section). */
export function toolStatuses(sections: Readonly<Record<string, string>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (sections.tools ?? '').split('\n')) {
    const m = /^([\w-]+)=(\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Formats sections back into probe output (fixtures, tests). */
export function formatProbeOutput(sections: Readonly<Record<string, string>>, complete = true): string {
  const parts = Object.entries(sections).map(([name, text]) => `==> benchyard:${name} <==\n${text}\n`);
  return parts.join('\n') + (complete ? '\n==> benchyard:end <==\n' : '');
}
