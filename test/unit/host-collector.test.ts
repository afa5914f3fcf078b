/**
 * HostCollector against a fake /proc and /sys tree (`fsRoot`), in the formats of a real
 * Linux 6.x machine: the rate math, no value on a first reading, no spike after a counter
 * reset, which disks count, temperatures where there are sensors, missing files.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../src/core/index.js';
import { HostCollector } from '../../src/metrics/host-collector.js';
import type { Reading } from '../../src/metrics/reading.js';

interface Cpu {
  user: number;
  system: number;
  idle: number;
  iowait?: number;
  steal?: number;
}
interface Disk {
  name: string;
  reads: number;
  readSectors: number;
  writes: number;
  writeSectors: number;
}
interface Iface {
  name: string;
  rx: number;
  tx: number;
}

const STAT = (c: Cpu) =>
  `cpu  ${c.user} 0 ${c.system} ${c.idle} ${c.iowait ?? 0} 0 0 ${c.steal ?? 0} 0 0
cpu0 343601 0 58098 1112307 1387 0 2506 4420 0 0
cpu1 424083 0 68761 1014067 7712 0 3824 4575 0 0
intr 98016337 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
ctxt 179532511
btime 1767249600
processes 24683
procs_running 2
procs_blocked 0
softirq 47330470 0 13208734 2 1208493 0 0 2361 18935290 0 13875590
`;

const MEMINFO = (totalKb: number, availableKb: number) =>
  `MemTotal:       ${totalKb} kB
MemFree:        22588796 kB
MemAvailable:   ${availableKb} kB
Buffers:            4248 kB
Cached:           495376 kB
SwapCached:            0 kB
Active:           841912 kB
`;

const DISKSTATS = (disks: Disk[]) =>
  disks
    .map(
      (d, i) =>
        `${String(8).padStart(4)} ${String(i).padStart(7)} ${d.name} ${d.reads} 60759 ${d.readSectors} 686860 ` +
        `${d.writes} 419807 ${d.writeSectors} 480566 0 179384 1250159 168442 147 8393168 41583 143755 41148`,
    )
    .join('\n') + '\n';

const NET_DEV = (ifaces: Iface[]) =>
  `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
${ifaces
  .map(
    (f) =>
      `${f.name.padStart(6)}: ${String(f.rx).padStart(8)}   17584    0    0    0     0          0         0 ` +
      `${String(f.tx).padStart(8)}   17584    0    0    0     0       0          0`,
  )
  .join('\n')}
`;

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A fake machine root; files are rewritten in place, as the kernel's are. */
function fakeRoot() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'by-host-'));
  roots.push(root);
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  return {
    root,
    write,
    set(s: { cpu: Cpu; disks?: Disk[]; net?: Iface[]; load?: string; mem?: [number, number] }) {
      write('proc/stat', STAT(s.cpu));
      write('proc/loadavg', `${s.load ?? '0.09 0.19 0.47'} 1/163 24683\n`);
      write('proc/meminfo', MEMINFO(...(s.mem ?? [24683656, 23208752])));
      write('proc/diskstats', DISKSTATS(s.disks ?? []));
      write('proc/net/dev', NET_DEV(s.net ?? []));
    },
  };
}

const value = (rs: readonly Reading[], name: string, device?: string) =>
  rs.find((r) => r.name === name && r.device === device)?.value;
const names = (rs: readonly Reading[]) => new Set(rs.map((r) => r.name));

const disk = (name: string, n: number): Disk => ({
  name,
  reads: 10 * n,
  readSectors: 100 * n,
  writes: 20 * n,
  writeSectors: 400 * n,
});

describe('HostCollector (fake /proc)', () => {
  it('yields levels at once and rates from the second reading on, from counters and elapsed time', async () => {
    const fs = fakeRoot();
    const c = new HostCollector({ fsRoot: fs.root });
    fs.set({
      cpu: { user: 1000, system: 500, idle: 8000, iowait: 500 },
      disks: [{ name: 'sda', reads: 100, readSectors: 1000, writes: 50, writeSectors: 2000 }],
      net: [
        { name: 'lo', rx: 1000, tx: 1000 },
        { name: 'eth0', rx: 5000, tx: 100 },
      ],
      load: '1.50 0.75 0.25',
      mem: [1000, 400],
    });
    const first = await c.collect(1_000);
    expect(first.every((r) => r.scope === 'host' && r.timestamp === 1_000)).toBe(true);
    expect(value(first, 'host.load.1m')).toBe(1.5);
    expect(value(first, 'host.memory.used.bytes')).toBe(600 * 1024);
    expect(value(first, 'host.memory.available.bytes')).toBe(400 * 1024);
    // Rates need two readings: nothing on the first.
    expect(names(first)).toEqual(
      new Set(['host.load.1m', 'host.memory.used.bytes', 'host.memory.available.bytes']),
    );

    fs.set({
      // +300 busy (user 200, system 100, steal 0) of +1000 jiffies (+600 idle, +100 iowait)
      cpu: { user: 1200, system: 600, idle: 8600, iowait: 600 },
      disks: [{ name: 'sda', reads: 130, readSectors: 1000 + 2048, writes: 60, writeSectors: 2000 + 8192 }],
      net: [
        { name: 'lo', rx: 1000 + 4000, tx: 1000 + 4000 },
        { name: 'eth0', rx: 5000 + 2_000_000, tx: 100 + 600 },
      ],
    });
    const second = await c.collect(3_000); // 2 s later
    expect(second.every((r) => r.timestamp === 3_000 && Number.isFinite(r.value))).toBe(true);
    expect(value(second, 'host.cpu.usage.pct')).toBeCloseTo(30, 10);
    expect(value(second, 'host.disk.read.bytes_per_sec', 'sda')).toBe((2048 * 512) / 2);
    expect(value(second, 'host.disk.write.bytes_per_sec', 'sda')).toBe((8192 * 512) / 2);
    expect(value(second, 'host.disk.io.ops_per_sec', 'sda')).toBe((30 + 10) / 2);
    expect(value(second, 'host.network.rx.bytes_per_sec', 'lo')).toBe(2000);
    expect(value(second, 'host.network.tx.bytes_per_sec', 'lo')).toBe(2000);
    expect(value(second, 'host.network.rx.bytes_per_sec', 'eth0')).toBe(1_000_000);
    expect(value(second, 'host.network.tx.bytes_per_sec', 'eth0')).toBe(300);
    expect(second.find((r) => r.name === 'host.disk.read.bytes_per_sec')).toMatchObject({
      unit: 'bytes/s',
      device: 'sda',
    });
    expect(second.find((r) => r.name === 'host.cpu.usage.pct')).toMatchObject({ unit: 'pct' });
    expect(second.find((r) => r.name === 'host.cpu.usage.pct')?.device).toBeUndefined();
    await c.close();
  });

  it('gives no value, never a spike, for a counter that went backwards, and resumes from it', async () => {
    const fs = fakeRoot();
    const c = new HostCollector({ fsRoot: fs.root });
    const net = (rx: number) => [{ name: 'eth0', rx, tx: 1000 }];
    fs.set({ cpu: { user: 1000, system: 0, idle: 1000 }, disks: [disk('vda', 100)], net: net(1_000_000) });
    await c.collect(1_000);
    fs.set({ cpu: { user: 1100, system: 0, idle: 1100 }, disks: [disk('vda', 101)], net: net(2_000_000) });
    const before = await c.collect(2_000);
    expect(value(before, 'host.network.rx.bytes_per_sec', 'eth0')).toBe(1_000_000);
    expect(value(before, 'host.disk.write.bytes_per_sec', 'vda')).toBe(400 * 512);

    // The disk and the interface counters restart from zero (driver reload, wrap); CPU goes on.
    fs.set({ cpu: { user: 1200, system: 0, idle: 1200 }, disks: [disk('vda', 1)], net: net(500) });
    const reset = await c.collect(3_000);
    expect(value(reset, 'host.network.rx.bytes_per_sec', 'eth0')).toBeUndefined();
    expect(value(reset, 'host.disk.read.bytes_per_sec', 'vda')).toBeUndefined();
    expect(value(reset, 'host.disk.write.bytes_per_sec', 'vda')).toBeUndefined();
    expect(value(reset, 'host.disk.io.ops_per_sec', 'vda')).toBeUndefined();
    expect(value(reset, 'host.network.tx.bytes_per_sec', 'eth0')).toBe(0); // unchanged: still a value
    expect(value(reset, 'host.cpu.usage.pct')).toBe(50);
    expect(reset.every((r) => Number.isFinite(r.value) && r.value >= 0)).toBe(true);

    fs.set({ cpu: { user: 1200, system: 0, idle: 1300 }, disks: [disk('vda', 3)], net: net(1500) });
    const after = await c.collect(4_000);
    expect(value(after, 'host.network.rx.bytes_per_sec', 'eth0')).toBe(1000);
    expect(value(after, 'host.disk.write.bytes_per_sec', 'vda')).toBe(2 * 400 * 512);
    expect(value(after, 'host.cpu.usage.pct')).toBe(0);

    // The CPU counters going backwards (a restored snapshot): no value, then normal again.
    fs.set({ cpu: { user: 100, system: 0, idle: 100 }, disks: [disk('vda', 3)], net: net(1500) });
    expect(value(await c.collect(5_000), 'host.cpu.usage.pct')).toBeUndefined();
    fs.set({ cpu: { user: 175, system: 0, idle: 125 }, disks: [disk('vda', 3)], net: net(1500) });
    expect(value(await c.collect(6_000), 'host.cpu.usage.pct')).toBe(75);
    await c.close();
  });

  it('gives no CPU value when no time passed on the counters, and no rates for a repeated tick time', async () => {
    const fs = fakeRoot();
    const c = new HostCollector({ fsRoot: fs.root });
    fs.set({ cpu: { user: 10, system: 0, idle: 10 }, net: [{ name: 'lo', rx: 1, tx: 1 }] });
    await c.collect(1_000);
    const same = await c.collect(2_000); // same counters: 0 jiffies elapsed
    expect(value(same, 'host.cpu.usage.pct')).toBeUndefined();
    expect(value(same, 'host.network.rx.bytes_per_sec', 'lo')).toBe(0);
    fs.set({ cpu: { user: 20, system: 0, idle: 20 }, net: [{ name: 'lo', rx: 100, tx: 100 }] });
    const again = await c.collect(2_000);
    expect(again.filter((r) => r.name.endsWith('_per_sec') || r.name === 'host.cpu.usage.pct')).toEqual([]);
    await c.close();
  });

  it('counts whole disks once: no loop, ram, zram, dm- or partitions of a listed disk', async () => {
    const fs = fakeRoot();
    const c = new HostCollector({ fsRoot: fs.root });
    const all = [
      'loop0',
      'loop12',
      'ram0',
      'zram0',
      'sda',
      'sda1',
      'sda2',
      'sdb',
      'nvme0n1',
      'nvme0n1p1',
      'nvme0n1p2',
      'mmcblk0',
      'mmcblk0p1',
      'dm-0',
      'md0',
      'vdb1', // a partition whose disk is not listed counts
      'sr0',
    ];
    fs.set({ cpu: { user: 1, system: 1, idle: 1 }, disks: all.map((n) => disk(n, 1)) });
    await c.collect(1_000);
    fs.set({ cpu: { user: 2, system: 2, idle: 2 }, disks: all.map((n) => disk(n, 2)) });
    const rs = await c.collect(2_000);
    const devices = new Set(rs.filter((r) => r.name.startsWith('host.disk.')).map((r) => r.device));
    expect([...devices].sort()).toEqual(['md0', 'mmcblk0', 'nvme0n1', 'sda', 'sdb', 'sr0', 'vdb1']);
    await c.close();
  });

  it('reads hwmon temperatures at most once a second, named chip/label', async () => {
    const fs = fakeRoot();
    fs.set({ cpu: { user: 1, system: 1, idle: 1 } });
    fs.write('sys/class/hwmon/hwmon0/name', 'coretemp\n');
    fs.write('sys/class/hwmon/hwmon0/temp1_label', 'Package id 0\n');
    fs.write('sys/class/hwmon/hwmon0/temp1_input', '54000\n');
    fs.write('sys/class/hwmon/hwmon0/temp2_label', 'Core 0\n');
    fs.write('sys/class/hwmon/hwmon0/temp2_input', '51500\n');
    fs.write('sys/class/hwmon/hwmon1/name', 'nvme\n');
    fs.write('sys/class/hwmon/hwmon1/temp1_input', '38850\n'); // no label
    fs.write('sys/class/hwmon/hwmon2/name', 'acpi_fan\n'); // no temperatures
    fs.write('sys/class/hwmon/hwmon2/fan1_input', '1200\n');
    fs.write('sys/class/thermal/thermal_zone0/type', 'x86_pkg_temp\n'); // not used: hwmon has them
    fs.write('sys/class/thermal/thermal_zone0/temp', '99000\n');
    const c = new HostCollector({ fsRoot: fs.root });
    const temps = (rs: readonly Reading[]) =>
      Object.fromEntries(
        rs.filter((r) => r.name === 'host.temperature.celsius').map((r) => [r.device, r.value]),
      );

    const first = await c.collect(10_000);
    expect(temps(first)).toEqual({
      'coretemp/Package id 0': 54,
      'coretemp/Core 0': 51.5,
      'nvme/temp1': 38.85,
    });
    expect(first.find((r) => r.name === 'host.temperature.celsius')).toMatchObject({ unit: 'C' });
    fs.write('sys/class/hwmon/hwmon0/temp1_input', '61000\n');
    const counts: number[] = [];
    for (let t = 10_100; t <= 12_000; t += 100) counts.push(Object.keys(temps(await c.collect(t))).length);
    // At 10 Hz: read at 11 000 and 12 000 only.
    expect(counts.filter((n) => n > 0)).toEqual([3, 3]);
    expect(counts.indexOf(3)).toBe(9); // t = 11 000
    expect(temps(await c.collect(13_000))['coretemp/Package id 0']).toBe(61);
    await c.close();
  });

  it('falls back to thermal zones, and emits no temperature where there are no sensors', async () => {
    const withZones = fakeRoot();
    withZones.set({ cpu: { user: 1, system: 1, idle: 1 } });
    withZones.write('sys/class/thermal/thermal_zone0/type', 'cpu-thermal\n');
    withZones.write('sys/class/thermal/thermal_zone0/temp', '47234\n');
    withZones.write('sys/class/thermal/cooling_device0/type', 'Processor\n');
    const zones = new HostCollector({ fsRoot: withZones.root });
    const rs = await zones.collect(1_000);
    expect(rs.filter((r) => r.name === 'host.temperature.celsius')).toEqual([
      {
        scope: 'host',
        name: 'host.temperature.celsius',
        unit: 'C',
        value: 47.234,
        timestamp: 1_000,
        device: 'cpu-thermal',
      },
    ]);
    await zones.close();

    const bare = fakeRoot(); // no sys/ at all
    bare.set({ cpu: { user: 1, system: 1, idle: 1 } });
    const none = new HostCollector({ fsRoot: bare.root });
    const out = [...(await none.collect(1_000)), ...(await none.collect(2_000))];
    expect(out.some((r) => r.name === 'host.temperature.celsius')).toBe(false);
    expect(out.length).toBeGreaterThan(0);
    await none.close();
  });

  it('reads what it can where files are missing, and warns once per missing file', async () => {
    const fs = fakeRoot();
    fs.write('proc/stat', STAT({ user: 1, system: 0, idle: 1 }));
    const warn = vi.fn();
    const logger: Logger = { debug: () => {}, info: () => {}, warn, error: () => {} };
    const c = new HostCollector({ fsRoot: fs.root, logger });
    await c.collect(1_000);
    fs.write('proc/stat', STAT({ user: 2, system: 0, idle: 2 }));
    const rs = await c.collect(2_000);
    expect(rs.map((r) => r.name)).toEqual(['host.cpu.usage.pct']);
    const warned = warn.mock.calls.map(([m]) => String(m));
    expect(warned).toHaveLength(4);
    for (const f of ['loadavg', 'meminfo', 'diskstats', 'net/dev'])
      expect(warned.some((m) => m.includes(`proc/${f}`))).toBe(true);

    // A file that appears later is picked up.
    fs.write('proc/loadavg', '2.00 1.00 0.50 1/100 1\n');
    expect(value(await c.collect(3_000), 'host.load.1m')).toBe(2);
    await c.close();
  });

  it('serializes overlapping calls and reads bigger-than-buffer files whole', async () => {
    const fs = fakeRoot();
    const many = Array.from({ length: 400 }, (_, i) => ({ name: `veth${i}`, rx: 1000 + i, tx: 1000 }));
    fs.set({ cpu: { user: 1, system: 1, idle: 1 }, net: many });
    const c = new HostCollector({ fsRoot: fs.root });
    const [a, b] = await Promise.all([c.collect(1_000), c.collect(2_000)]);
    expect(a.some((r) => r.name.startsWith('host.network.'))).toBe(false);
    const rx = b.filter((r) => r.name === 'host.network.rx.bytes_per_sec');
    expect(rx).toHaveLength(400); // 400 lines of /proc/net/dev: ~50 KB, well past the first 4 KB read
    expect(rx.every((r) => r.value === 0)).toBe(true);
    await c.close();
  });
});
