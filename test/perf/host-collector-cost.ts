/**
 * What the host collector costs: CPU time per `collect()` (this process plus any child
 * processes), at 1 Hz and 10 Hz for SECONDS each (10 by default), then at 10 Hz through an
 * fsRoot of links to /proc and /sys (which reads memory directly instead of through
 * systeminformation), and how late the event loop ran at 10 Hz. With `--si`, also the cost
 * of one call of each systeminformation function the collector could have used (50 calls
 * each; their 200/500 ms result caches are defeated by moving `Date.now` forward): the
 * numbers quoted in host-collector.ts. Asserts nothing.
 * `npx tsx test/perf/host-collector-cost.ts [SECONDS] [--si]`
 *
 * "in call" is this process's CPU time (all threads: the libuv pool doing the reads too)
 * from the start of a call to its end; "process" is all of this process's CPU time over the
 * run per call, which adds whatever else ran meanwhile (timers, garbage collections, tsx):
 * on a quiet 2-core VM an idle Node process alone shows 0.5–3 ms a second of that.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import si from 'systeminformation';
import { HostCollector, type HostCollectorOptions } from '../../src/metrics/host-collector.js';
import { printAccounted, self } from './processes.js';

const seconds = Number(process.argv.slice(2).find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 10);
const withSi = process.argv.includes('--si');

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

/** This process's CPU time (all threads), ms. */
const ownMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** CPU time of the child processes waited for, ms: /proc/self/stat cutime + cstime (USER_HZ 100). */
const childrenMs = () => {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
};

interface Cost {
  inCall: number;
  children: number;
  process: number;
  gc: number;
  wall: number;
}

/** Runs `fn` `calls` times, one every `gapMs`: per call, ms. */
async function measure(fn: () => Promise<unknown>, calls: number, gapMs: number): Promise<Cost> {
  const own0 = ownMs();
  const children0 = childrenMs();
  const gc0 = gcMs;
  let inCall = 0;
  let wall = 0;
  const start = performance.now();
  for (let i = 0; i < calls; i++) {
    const c0 = ownMs();
    const t0 = performance.now();
    await fn();
    wall += performance.now() - t0;
    inCall += ownMs() - c0;
    await sleep(Math.max(0, start + (i + 1) * gapMs - performance.now()));
  }
  return {
    inCall: inCall / calls,
    children: (childrenMs() - children0) / calls,
    process: (ownMs() - own0) / calls,
    gc: (gcMs - gc0) / calls,
    wall: wall / calls,
  };
}

/**
 * Event-loop delay while `fn` runs `calls` times, `gapMs` apart, ms. Measured apart from the
 * CPU times: the 1 ms histogram timer itself costs about 3 % of a core.
 */
async function loopDelay(fn: () => Promise<unknown>, calls: number, gapMs: number) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await measure(fn, calls, gapMs);
  h.disable();
  return { p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

const ms = (x: number) => `${x.toFixed(3).padStart(7)} ms`;
const line = (name: string, c: Cost, extra = '') =>
  console.log(
    `${name.padEnd(22)} in call ${ms(c.inCall)}  children ${ms(c.children)}  wall ${ms(c.wall)}  ` +
      `(process ${ms(c.process)}, of it GC ${ms(c.gc)})${extra}`,
  );
const delay = (d: { p99: number; max: number }) =>
  `  loop delay p99 ${d.p99.toFixed(1)} ms, max ${d.max.toFixed(1)} ms`;

// The same files through another fsRoot (links to /proc and /sys): no systeminformation call.
const linkRoot = await mkdtemp(path.join(os.tmpdir(), 'benchyard-hostroot-'));
await symlink('/proc', path.join(linkRoot, 'proc'));
await symlink('/sys', path.join(linkRoot, 'sys'));
const runs: Array<[string, number, HostCollectorOptions]> = [
  ['collect() at 1 Hz', 1, {}],
  ['collect() at 10 Hz', 10, {}],
  ['10 Hz, all direct', 10, { fsRoot: linkRoot }],
];

console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${seconds} s per run; per call:`);
printAccounted([
  self('this process: the collector (all threads, the libuv pool doing the reads too)'),
  { ...self('child processes it waited for (cutime + cstime): "children"'), withReaped: true },
]);
try {
  for (const [name, hz, options] of runs) {
    const collector = new HostCollector(options);
    // Steady state: files open, code compiled (the first call also yields no rates).
    for (let i = 0; i < 20; i++) await collector.collect(Date.now() + i - 20);
    const c = await measure(() => collector.collect(Date.now()), Math.round(seconds * hz), 1000 / hz);
    line(name, c);
    console.log(
      `${''.padEnd(22)} = ${((100 * (c.inCall + c.children)) / (1000 / hz)).toFixed(2)} % of one core` +
        (hz === 10
          ? delay(await loopDelay(() => collector.collect(Date.now()), 20, 100)) + ' (20 calls)'
          : ''),
    );
    await collector.close();
  }
} finally {
  await rm(linkRoot, { recursive: true, force: true });
}

if (withSi) {
  const realNow = Date.now;
  let offset = 0;
  Date.now = () => realNow() + offset;
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['si.mem()', () => si.mem()],
    ['si.currentLoad()', () => si.currentLoad()],
    ['si.fsStats()', () => si.fsStats()],
    ['si.disksIO()', () => si.disksIO()],
    ["si.networkStats('lo')", () => si.networkStats('lo')],
    ["si.networkStats('*')", () => si.networkStats('*')],
    ['si.cpuTemperature()', () => si.cpuTemperature()],
  ];
  for (const [name, fn] of calls) {
    await fn(); // the first currentLoad() waits 500 ms for a baseline
    const call = () => {
      offset += 1000;
      return fn();
    };
    line(name, await measure(call, 50, 10), delay(await loopDelay(call, 20, 10)));
  }
  Date.now = realNow;
}
