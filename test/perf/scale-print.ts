/** The tables of `perf:scale`: one column per size. */
import type { PoolTick } from './scale-pool.js';
import { GROUPS } from './scale-profile.js';
import type { SizeFigures } from './scale-run.js';

type Row = [string, ...string[]];

function table(title: string, head: Row, rows: Row[]): void {
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (r: Row) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
}

const n = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
const mb = (bytes: number) => n(bytes / 2 ** 20);
const f1 = (x: number) => x.toFixed(1);

/** Total CPU of a size (the run and closing the stores), µs. */
const cpuOf = (f: SizeFigures) => f.cpuRunUs + f.cpuCloseUs;
const repsOf = (f: SizeFigures) => f.spec.repetitions;

/** µs of profiled time per repetition, for the rows of a breakdown. */
function perRep(figures: SizeFigures[], pick: (f: SizeFigures) => Record<string, number>, top: number) {
  const keys = new Set(figures.flatMap((f) => Object.keys(pick(f))));
  const value = (f: SizeFigures, k: string) => ((pick(f)[k] ?? 0) * 1000) / repsOf(f);
  return [...keys]
    .map((k) => ({ k, vs: figures.map((f) => value(f, k)) }))
    .sort((a, b) => Math.max(...b.vs) - Math.max(...a.vs))
    .slice(0, top)
    .map(({ k, vs }): Row => [k, ...vs.map(f1)]);
}

export function printFigures(figures: SizeFigures[], pools: PoolTick[], o: { totalMs: number }): void {
  const head: Row = [
    '',
    ...figures.map((f) => `${n(f.spec.machines)} × ${n(f.spec.repetitions)}${f.spec.es ? '' : ' (SQLite)'}`),
  ];
  const each = (fn: (f: SizeFigures) => string): string[] => figures.map(fn);
  table('perf:scale: one controller, simulated machines, real scheduler and stores', head, [
    ['machines', ...each((f) => n(f.spec.machines))],
    ['repetitions', ...each((f) => n(f.spec.repetitions))],
    ['cells × repetitions each', ...each((f) => `${n(f.cells)} × ${n(f.spec.repetitions / f.cells)}`)],
    ['repetitions per machine', ...each((f) => n(f.spec.repetitions / f.spec.machines))],
    ['stores', ...each((f) => (f.spec.es ? 'SQLite + ES' : 'SQLite'))],
    ['metric samples per repetition', ...each((f) => n(f.spec.samples))],
    ['simulated time (h)', ...each((f) => f1(f.simulatedMs / 3_600_000))],
    ['planning the matrix (s, not below)', ...each((f) => f1(f.planMs / 1000))],
    ['wall time (s)', ...each((f) => f1(f.wallMs / 1000))],
    ['  of which closing the stores (s)', ...each((f) => f1(f.closeMs / 1000))],
    ['controller CPU (s)', ...each((f) => f1(cpuOf(f) / 1e6))],
    ['CPU per repetition (µs)', ...each((f) => n(cpuOf(f) / repsOf(f)))],
    ['CPU / wall (cores)', ...each((f) => (cpuOf(f) / 1000 / f.wallMs).toFixed(2))],
    ['repetitions per CPU second', ...each((f) => n(repsOf(f) / (cpuOf(f) / 1e6)))],
    ['peak RSS (MB)', ...each((f) => mb(f.peakRssBytes))],
    ['peak JS heap used, garbage included (MB)', ...each((f) => mb(f.peakHeapBytes))],
    ['JS heap live at the end, after GC (MB)', ...each((f) => mb(f.liveHeapBytes))],
    ['ES HTTP requests', ...each((f) => (f.esRequests !== undefined ? n(f.esRequests) : '-'))],
    ['ES documents stored', ...each((f) => (f.esDocs !== undefined ? n(f.esDocs) : '-'))],
    ['simulated timers fired', ...each((f) => n(f.timersFired))],
  ]);

  const areaRows = perRep(figures, (f) => f.profile.areas, 40);
  const groupRows = GROUPS.map(([label, re]): Row => [
    label,
    ...each((f) => {
      const ms = Object.entries(f.profile.areas).reduce((sum, [k, v]) => sum + (re.test(k) ? v : 0), 0);
      return f1((ms * 1000) / repsOf(f));
    }),
  ]);
  const sampled = (f: SizeFigures) => f.profile.totalMs - f.profile.idleMs;
  table(
    'CPU by area, µs per repetition: V8 profile of the main thread (native calls count for their caller;' +
      ' sampled time also counts while the OS ran another process; gzip runs in the thread pool, in cpuUsage only)',
    head,
    [
      ...groupRows,
      ...areaRows,
      ['= main thread, sampled', ...each((f) => f1((sampled(f) * 1000) / repsOf(f)))],
      ['process CPU (cpuUsage)', ...each((f) => f1(cpuOf(f) / repsOf(f)))],
      ['idle (waiting on I/O), not CPU', ...each((f) => f1((f.profile.idleMs * 1000) / repsOf(f)))],
    ],
  );
  table(
    'Top files, µs per repetition',
    head,
    perRep(figures, (f) => f.profile.files, 14),
  );
  table(
    'Top functions (self time), µs per repetition',
    head,
    perRep(figures, (f) => f.profile.functions, 14),
  );

  table(
    'Not simulated: a membership tick (each second) with an ssh pool of as many members, CPU ms',
    ['pool members', 'CPU ms per tick', 'share of one core'],
    pools.map((p): Row => [n(p.members), f1(p.cpuMs), `${f1(p.cpuMs / 10)} %`]),
  );

  const failed = figures.flatMap((f) =>
    f.checks
      .filter((c) => !c.ok)
      .map((c) => `${f.spec.machines}x${f.spec.repetitions}: ${c.name}: ${c.detail}`),
  );
  table(
    'Checks',
    head,
    [...new Set(figures.flatMap((f) => f.checks.map((c) => c.name)))].map((name): Row => [
      name,
      ...each((f) => {
        const c = f.checks.find((x) => x.name === name);
        return c ? `${c.ok ? 'ok' : 'FAILED'} (${c.detail})` : '-';
      }),
    ]),
  );
  console.log(
    `\nSimulated machines: each repetition is a fake container of 60 s ± 5 s simulated time printing one score;` +
      ` 10 cells per machine, concurrency 1. Metric samples are synthetic (${figures[0]?.spec.samples ?? 0} container` +
      ` samples per repetition, handed to the store's sink in one batch as it ends), so the sink's cost is in.` +
      ` A store call may take at most ${figures[0]?.spec.lagMs ?? 0} ms of simulated time (the clock waits for real I/O).` +
      ` Areas starting 'sim:' are the simulation's own cost, not a controller's.` +
      (figures.some((f) => !f.spec.es)
        ? ` Sizes marked (SQLite) ran without the Elasticsearch sink: with it every result is one bulk request` +
          ` (ElasticsearchStore.recordResult flushes the sink), and 100,000 of them took 5 minutes against the` +
          ` test node; --sizes 1000x100000 runs that.`
        : '') +
      `\nTotal: ${f1(o.totalMs / 1000)} s.${failed.length ? `\nFAILED: ${failed.join('; ')}` : ''}`,
  );
  for (const f of figures) if (f.left) console.log(`Left behind: ${f.left}.`);
}
