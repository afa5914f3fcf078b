/**
 * One size of `perf:scale`, in a process of its own (so peak memory is this size's): the
 * real scheduler, fleet and stores (SQLite in a temporary state folder, and optionally the
 * Elasticsearch sink against the test node) run `machines` simulated machines through
 * `repetitions` repetitions in simulated time, measured and profiled; then every
 * repetition must be stored once and every machine released once.
 */
import Database from 'better-sqlite3';
import { Client } from '@elastic/elasticsearch';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger, type RepetitionResult } from '../../src/core/index.js';
import { Scheduler, type RunOutcome } from '../../src/schedule/index.js';
import {
  CONTAINER_METRICS_STREAM,
  ElasticsearchStore,
  FanoutStore,
  RESULTS_INDEX,
  RUNS_INDEX,
  SqliteStore,
} from '../../src/store/index.js';
import { FakeProvider } from '../helpers/sim/fake-provider.js';
import { fakeMatrix, planOf } from '../helpers/sim/simulate.js';
import { VirtualClock } from '../helpers/sim/virtual-clock.js';
import { ES_URL } from '../helpers/services.js';
import { countHttpRequests, liveHeapBytes, peakMemory } from './scale-measure.js';
import { startProfile, type ProfileSummary } from './scale-profile.js';
import { HeldStore, SampleWritingMonitor, sixtySeconds } from './scale-sim.js';

export interface SizeSpec {
  machines: number;
  repetitions: number;
  /** The Elasticsearch sink besides SQLite. */
  es: boolean;
  /** Synthetic metric samples per repetition. */
  samples: number;
  /** Simulated time a store call may take at most (see HeldStore). */
  lagMs: number;
  /** Leave the run's documents in Elasticsearch. */
  keep: boolean;
}

export interface SizeFigures {
  spec: SizeSpec;
  cells: number;
  /** Validating and planning the matrix (before the run; not in the CPU figures). */
  planMs: number;
  wallMs: number;
  /** process.cpuUsage of the run, then of closing the stores (draining the sink), µs. */
  cpuRunUs: number;
  cpuCloseUs: number;
  closeMs: number;
  peakRssBytes: number;
  peakHeapBytes: number;
  /** JS heap in use after a full GC at the end, the run's outcome still held. */
  liveHeapBytes: number;
  simulatedMs: number;
  timersFired: number;
  /** HTTP requests to Elasticsearch (undici's), documents it took. */
  esRequests?: number;
  esDocs?: number;
  profile: ProfileSummary;
  checks: { name: string; ok: boolean; detail: string }[];
  /** What stays in Elasticsearch after the size. */
  left?: string;
}

type Check = (name: string, ok: boolean, detail: string) => void;

export async function runSize(spec: SizeSpec): Promise<SizeFigures> {
  const memory = peakMemory();
  // 10 cells per machine, each a tenth of a machine's repetitions, back to back.
  const cells = spec.machines * 10;
  const perCell = Math.max(1, Math.round(spec.repetitions / cells));
  const total = cells * perCell;
  const runId = `scale-${spec.machines}x${total}-${Date.now().toString(36)}`;
  const state = mkdtempSync(path.join(os.tmpdir(), 'by-scale-'));
  const sqlite = new SqliteStore(state);
  // As the CLI opens it (src/cli/run-wiring.ts).
  const es = spec.es
    ? await ElasticsearchStore.connect({ url: ES_URL, spoolRoot: path.join(state, 'spool') })
    : undefined;
  const fanout = new FanoutStore(sqlite, es ? [es] : [], silentLogger);
  const clock = new VirtualClock();
  const provider: FakeProvider = new FakeProvider({
    clock,
    behave: sixtySeconds(() => provider),
    capacity: () => ({ min: spec.machines, max: spec.machines }),
  });
  const scheduler = new Scheduler({
    providers: new Map([[provider.name, provider]]),
    store: new HeldStore(fanout, clock, spec.lagMs),
    artifacts: { save: () => Promise.reject(new Error('the fake benchmark declares no artifacts')) },
    logger: silentLogger,
    clock,
    session: 's-scale',
    fingerprintImage: false,
    monitor: (machine, sink) => new SampleWritingMonitor(machine.hostname, sink, clock, spec.samples),
  });
  const tPlan = performance.now();
  const plan = planOf(
    fakeMatrix({ cells, repetitions: perCell, targets: '  - { name: lab, provider: ssh, hosts: [lab] }' }),
  );
  const planMs = performance.now() - tPlan;

  const requests = countHttpRequests();
  const stopProfile = await startProfile();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const outcome = await clock.drive(scheduler.run(plan, { runId, signal: new AbortController().signal }));
  const cpuRun = process.cpuUsage(cpu0);
  const t1 = performance.now();
  await fanout.close();
  const cpuAll = process.cpuUsage(cpu0);
  const t2 = performance.now();
  const profile = await stopProfile();
  requests.stop();
  const peak = memory.stop();
  const live = liveHeapBytes();

  const checks: SizeFigures['checks'] = [];
  const check: Check = (name, ok, detail) => checks.push({ name, ok, detail });
  checkRun(outcome, total, check);
  checkSqlite(state, runId, total, total * spec.samples, check);
  const released = provider.releases.size;
  check(
    'machines released once',
    provider.releasedOnce() && released === spec.machines && provider.acquired.length === spec.machines,
    `${provider.acquired.length} acquired, ${released} released`,
  );
  const left = spec.es
    ? await checkElasticsearch(runId, outcome.results, total * spec.samples, spec.keep, check)
    : undefined;
  rmSync(state, { recursive: true, force: true });

  return {
    spec: { ...spec, repetitions: total },
    cells,
    planMs,
    wallMs: t2 - t0,
    cpuRunUs: cpuRun.user + cpuRun.system,
    cpuCloseUs: cpuAll.user + cpuAll.system - (cpuRun.user + cpuRun.system),
    closeMs: t2 - t1,
    peakRssBytes: peak.rss,
    peakHeapBytes: peak.heap,
    liveHeapBytes: live,
    simulatedMs: clock.now() - Date.UTC(2026, 0, 1),
    timersFired: clock.fired,
    // Documents the sink stored: its stats carry `sent`, which the MetricSinkStats type omits.
    ...(es ? { esRequests: requests.n, esDocs: (es.stats() as { sent?: number }).sent ?? 0 } : {}),
    profile,
    checks,
    ...(left ? { left } : {}),
  };
}

function checkRun(outcome: RunOutcome, total: number, check: Check): void {
  check(
    'run passed',
    outcome.run.status === 'passed' && outcome.results.length === total,
    `${outcome.run.status}, ${outcome.results.length}/${total} results`,
  );
}

function checkSqlite(state: string, runId: string, total: number, samples: number, check: Check): void {
  const db = new Database(path.join(state, 'benchyard.db'), { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT COUNT(*) AS n, COUNT(DISTINCT cell_id || '#' || repetition) AS distinct_n
           FROM results WHERE run_id = ?`,
      )
      .get(runId) as { n: number; distinct_n: number };
    const stored = (
      db.prepare('SELECT COUNT(*) AS n FROM metric_samples WHERE run_id = ?').get(runId) as { n: number }
    ).n;
    check('SQLite: each repetition once', rows.n === total && rows.distinct_n === total, `${rows.n} rows`);
    check('SQLite: samples', stored === samples, `${stored} of ${samples}`);
  } finally {
    db.close();
  }
}

/**
 * Every result and sample reached Elasticsearch once. Then the run's documents go: results
 * and the run by id; samples (a time-series stream, ids derived by Elasticsearch) only where
 * the node has `_delete_by_query`, which the test distribution lacks.
 */
async function checkElasticsearch(
  runId: string,
  results: readonly RepetitionResult[],
  samples: number,
  keep: boolean,
  check: Check,
): Promise<string | undefined> {
  const es = new Client({ node: ES_URL });
  const query = { term: { 'run.id': runId } };
  try {
    await es.indices.refresh({ index: `${RESULTS_INDEX},${CONTAINER_METRICS_STREAM}` });
    const r = (await es.count({ index: RESULTS_INDEX, query })).count;
    const s = (await es.count({ index: CONTAINER_METRICS_STREAM, query })).count;
    check('ES: each result once', r === results.length, `${r} docs`);
    check('ES: samples', s === samples, `${s} of ${samples}`);
    if (keep) return `run ${runId} kept in Elasticsearch`;
    const ids = [
      ...results.map((x) => [RESULTS_INDEX, `${x.runId}:${x.cellId}:${x.repetition}`] as const),
      [RUNS_INDEX, runId] as const,
    ];
    for (let i = 0; i < ids.length; i += 5000)
      await es.bulk({
        operations: ids.slice(i, i + 5000).map(([_index, _id]) => ({ delete: { _index, _id } })),
      });
    try {
      await es.deleteByQuery({
        index: CONTAINER_METRICS_STREAM,
        query,
        conflicts: 'proceed',
        slices: 'auto',
      });
      return undefined;
    } catch (err) {
      if (!/no handler found/.test(String(err))) throw err;
      return `its ${s} samples stay in ${CONTAINER_METRICS_STREAM} (run.id ${runId}): this node has no _delete_by_query`;
    }
  } finally {
    await es.close();
  }
}
