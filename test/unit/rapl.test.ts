/**
 * RAPL through powercap against the trees of test/fixtures/rapl (written from the kernel's
 * documentation, see its README): which zones are read and which summed, counter deltas
 * across a wrap-around, a denied `energy_uj`, no RAPL at all; and the host collector's
 * power samples and energy counters on top.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { HostCollector } from '../../src/metrics/host-collector.js';
import { counterDelta, discoverRapl, nodeSysfs, RaplMeter, type SysfsPort } from '../../src/metrics/rapl.js';

const FIXTURES = path.resolve(__dirname, '../fixtures/rapl');
const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A writable copy of a fixture machine; `set(zone, µJ)` rewrites a counter in place. */
function machine(fixture: string) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'by-rapl-'));
  roots.push(root);
  cpSync(path.join(FIXTURES, fixture), root, { recursive: true });
  const zone = (z: string) => path.join(root, 'sys/class/powercap', z);
  return {
    root,
    powercap: path.join(root, 'sys/class/powercap'),
    zone,
    set: (z: string, uj: number) => writeFileSync(path.join(zone(z), 'energy_uj'), `${uj}\n`),
  };
}

/** The node file system, except that `energy_uj` files matching `denied` answer EACCES (root ignores mode bits). */
function denying(denied: RegExp): SysfsPort {
  return {
    list: nodeSysfs.list,
    open: (file) =>
      denied.test(file)
        ? {
            read: () =>
              Promise.reject(
                Object.assign(new Error(`EACCES: permission denied, open '${file}'`), { code: 'EACCES' }),
              ),
            close: () => Promise.resolve(),
          }
        : nodeSysfs.open(file),
  };
}

describe('discoverRapl', () => {
  it('reads two packages and their DRAM on a two-socket server', async () => {
    const m = machine('xeon-2s-dram');
    const { domains, problems } = await discoverRapl(m.powercap);
    expect(problems).toEqual([]);
    expect(domains.map((d) => [d.label, d.kind, path.basename(d.dir), d.rangeUj])).toEqual([
      ['package-0', 'package', 'intel-rapl:0', 262143328850],
      ['dram-0', 'dram', 'intel-rapl:0:0', 65712999613],
      ['package-1', 'package', 'intel-rapl:1', 262143328850],
      ['dram-1', 'dram', 'intel-rapl:1:0', 65712999613],
    ]);
  });

  it('keeps core, uncore and psys apart from the package, and reads package-0 once though MMIO shows it again', async () => {
    const m = machine('client-psys-mmio');
    const { domains } = await discoverRapl(m.powercap);
    expect(domains.map((d) => [d.label, d.kind, path.basename(d.dir)])).toEqual([
      ['package-0', 'package', 'intel-rapl:0'],
      ['core-0', 'core', 'intel-rapl:0:0'],
      ['uncore-0', 'uncore', 'intel-rapl:0:1'],
      ['dram-0', 'dram', 'intel-rapl:0:2'],
      ['psys', 'psys', 'intel-rapl:1'],
    ]);
  });

  it('reads AMD through the same intel-rapl control type', async () => {
    const { domains } = await discoverRapl(machine('amd-zen').powercap);
    expect(domains.map((d) => [d.label, d.kind, d.rangeUj])).toEqual([
      ['package-0', 'package', 65532610987],
      ['core-0', 'core', 65532610987],
    ]);
  });

  it('says what it saw where there is no RAPL', async () => {
    const dtpm = machine('no-rapl-dtpm');
    expect(await discoverRapl(dtpm.powercap)).toEqual({
      domains: [],
      problems: [`no RAPL domain under ${dtpm.powercap} (only dtpm)`],
    });
    const bare = mkdtempSync(path.join(os.tmpdir(), 'by-rapl-none-'));
    roots.push(bare);
    const none = path.join(bare, 'sys/class/powercap');
    expect((await discoverRapl(none)).problems).toEqual([
      `no RAPL: ${none} does not exist (a kernel without powercap)`,
    ]);
  });

  it('names a sub-zone after its zone number where its package has no readable name', async () => {
    const m = machine('xeon-2s-dram');
    rmSync(path.join(m.zone('intel-rapl:1'), 'name'));
    const { domains, problems } = await discoverRapl(m.powercap);
    expect(domains.map((d) => d.label)).toEqual(['package-0', 'dram-0', 'dram-1']);
    expect(problems).toEqual([`RAPL zone skipped: ${path.join(m.zone('intel-rapl:1'), 'name')} unreadable`]);
  });

  it('skips a zone whose counter range is unreadable: its wrap-arounds could not be told', async () => {
    const m = machine('amd-zen');
    rmSync(path.join(m.zone('intel-rapl:0:0'), 'max_energy_range_uj'));
    const { domains, problems } = await discoverRapl(m.powercap);
    expect(domains.map((d) => d.label)).toEqual(['package-0']);
    expect(problems).toEqual([
      `RAPL core-0 skipped: no ${path.join(m.zone('intel-rapl:0:0'), 'max_energy_range_uj')}, so no wrap-around handling`,
    ]);
  });
});

describe('counterDelta', () => {
  it('is the difference, or across one wrap the rest of the range plus the new value', () => {
    expect(counterDelta(1_000, 4_500, 10_000)).toBe(3_500);
    expect(counterDelta(9_000, 500, 10_000)).toBe(1_500);
    expect(counterDelta(262143328000, 1150, 262143328850)).toBe(2000);
  });

  it('recovers the energy added whatever the counter shows, for any start and any step under the range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (range, startFrac, stepFrac) => {
          const start = Math.floor(startFrac * (range - 1));
          const step = Math.floor(stepFrac * range);
          expect(counterDelta(start, (start + step) % range, range)).toBe(step);
        },
      ),
    );
  });
});

describe('RaplMeter', () => {
  it('accumulates joules per domain across a wrap-around', async () => {
    const m = machine('xeon-2s-dram');
    const meter = new RaplMeter({ fsRoot: m.root });
    m.set('intel-rapl:0', 262143328850 - 50_000_000); // 50 J below the top of the range
    await meter.read(1000);
    m.set('intel-rapl:0', 70_000_000); // wrapped: 50 J + 70 J
    m.set('intel-rapl:0:0', 19563215672 + 9_000_000);
    const r = await meter.read(2000);
    await meter.close();
    const joules = Object.fromEntries(r.domains.map((d) => [d.domain.label, d.joules]));
    expect(joules).toEqual({ 'package-0': 120, 'dram-0': 9, 'package-1': 0, 'dram-1': 0 });
    expect(r.missing).toBeUndefined();
  });

  it('says which energy_uj files were denied, with their paths, and reads the others', async () => {
    const m = machine('xeon-2s-dram');
    const meter = new RaplMeter({ fsRoot: m.root, fs: denying(/intel-rapl:\d\/energy_uj$/) });
    const r = await meter.read(1000);
    expect(r.domains.map((d) => d.domain.label)).toEqual(['dram-0', 'dram-1']);
    expect(r.missing).toBe(
      `RAPL permission denied: ${m.zone('intel-rapl:0')}/energy_uj, ${m.zone('intel-rapl:1')}/energy_uj` +
        ' (energy_uj is root-only since the CVE-2020-8694 fix; the metrics agent reads it as root)',
    );
  });

  // Root ignores mode bits (this machine's tests run as root): there the fake above stands in.
  it.skipIf(process.getuid?.() === 0)(
    'gets EACCES from a mode-000 energy_uj as a non-root user',
    async () => {
      const m = machine('amd-zen');
      chmodSync(path.join(m.zone('intel-rapl:0'), 'energy_uj'), 0o000);
      const r = await new RaplMeter({ fsRoot: m.root }).read(1000);
      expect(r.missing).toContain(`RAPL permission denied: ${m.zone('intel-rapl:0')}/energy_uj`);
    },
  );
});

describe('HostCollector energy', () => {
  it('samples each domain as mean power per interval and counts only packages and DRAM as energy', async () => {
    const m = machine('client-psys-mmio');
    mkdirSync(path.join(m.root, 'proc'));
    const c = new HostCollector({ fsRoot: m.root });
    expect((await c.collect(10_000)).filter((r) => r.name === 'host.power.watts')).toEqual([]);
    const start = await c.readEnergy(10_000);
    m.set('intel-rapl:0', 40213375488 + 30_000_000); // 30 J in 2 s: 15 W
    m.set('intel-rapl:0:0', 20114003967 + 20_000_000);
    m.set('intel-rapl:0:2', 5530211181 + 4_000_000);
    m.set('intel-rapl:1', 90366589477 + 50_000_000);
    const power = (await c.collect(12_000)).filter((r) => r.name === 'host.power.watts');
    const end = await c.readEnergy(12_000);
    await c.close();
    expect(Object.fromEntries(power.map((r) => [r.device, r.value]))).toEqual({
      'rapl:package-0': 15,
      'rapl:core-0': 10,
      'rapl:uncore-0': 0,
      'rapl:dram-0': 2,
      'rapl:psys': 25,
    });
    expect(power.every((r) => r.scope === 'host' && r.unit === 'W' && r.timestamp === 12_000)).toBe(true);
    expect([...start.sources.keys()]).toEqual(['rapl:package-0', 'rapl:dram-0']);
    expect([...end.sources].map(([k, v]) => [k, v.kind, v.joules - start.sources.get(k)!.joules])).toEqual([
      ['rapl:package-0', 'cpu', 30],
      ['rapl:dram-0', 'dram', 4],
    ]);
  });

  it('has no energy and says why on a machine without powercap', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'by-rapl-none-'));
    roots.push(root);
    const c = new HostCollector({ fsRoot: root });
    const r = await c.readEnergy(1);
    await c.close();
    expect(r.sources.size).toBe(0);
    expect(r.missing).toBe(
      `no RAPL: ${path.join(root, 'sys/class/powercap')} does not exist (a kernel without powercap)`,
    );
  });
});
