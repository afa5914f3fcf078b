/**
 * executeRun (src/run) with fakes at every port: a fake scheduler, stores, ledger and
 * terminal. What is looked at: the run's report, that each resource is closed exactly once
 * and in order on every way out, and which error the user reads.
 */
import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  InfrastructureError,
  InputError,
  silentLogger,
  type ArtifactStore,
  type LedgerEntry,
  type Logger,
  type RepetitionResult,
  type RunRecord,
} from '../../src/core/index.js';
import type { Plan } from '../../src/plan/index.js';
import type { RunOutcome, SchedulerDeps } from '../../src/schedule/index.js';
import { closing, executeRun, type RunDeps, type RunRequest, type StoredRuns } from '../../src/run/index.js';
import { planText } from '../helpers/catalog.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { repetitionResult } from '../helpers/results.js';

const MATRIX = `name: nightly
repetitions: 1
targets: [{ name: a, provider: local }]
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2] }
`;

type Scheduled = (plan: Plan, deps: SchedulerDeps, runId: string) => Promise<RunOutcome>;

/** A scheduler that records the run as the real one does, with these results. */
const passing =
  (results: (runId: string) => RepetitionResult[] = () => []): Scheduled =>
  async (plan, d, runId) => {
    const run: RunRecord = {
      id: runId,
      name: plan.matrixName,
      matrixPath: plan.matrixFile,
      status: 'running',
      startedAt: '2026-01-01T00:00:00.000Z',
      cells: plan.cells.length,
      repetitions: plan.repetitions,
      passed: 0,
      failed: 0,
    };
    await d.store.startRun(run, plan.cells);
    d.onEvent?.({ type: 'run-started', run });
    const ended = { ...run, status: 'passed' as const };
    await d.store.finishRun(ended);
    return { run: ended, results: results(runId) };
  };

function harness(o: { schedule?: Scheduled; storesClose?: () => Promise<void>; history?: StoredRuns } = {}) {
  const log: string[] = [];
  const errors: string[] = [];
  const notices: string[] = [];
  const written: RunRecord[] = [];
  const intents: { details: unknown; expiresAt: Date }[] = [];
  const ends = new Map<string, boolean>();
  const health = {
    file: '/state/benchyard.db',
    failure: undefined as InfrastructureError | undefined,
    lost: { samples: 0, events: 0 },
    runEndStored: (id: string) => ends.get(id),
  };
  const store = {
    startRun: async (r: RunRecord) => void written.push({ ...r }),
    recordResult: async () => {},
    finishRun: async (r: RunRecord) => {
      written.push({ ...r });
      ends.set(r.id, true);
    },
    write: () => {},
    flush: async () => {},
    close: async () => {},
  };
  const logger: Logger = { ...silentLogger, error: (m) => void errors.push(m) };
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00.000Z'));
  const deps: RunDeps = {
    clock,
    logger,
    signal: new AbortController().signal,
    notice: (line) => void notices.push(line),
    progress: (n) => {
      log.push(`progress ${n}`);
      return { onEvent: (e) => void log.push(`event ${e.type}`), stop: () => void log.push('progress.stop') };
    },
    history: { state: () => o.history },
    openStores: async () => {
      log.push('stores.open');
      return {
        store,
        artifacts: {} as ArtifactStore,
        eventSinks: { fake: { record: () => {}, flush: async () => void log.push('events.flush') } },
        health,
        close: async () => {
          log.push('stores.close');
          await o.storesClose?.();
        },
      };
    },
    openProviders: async () => {
      log.push('providers.open');
      return {
        session: 's-1',
        providers: new Map(),
        ledger: {
          intend: (i, expiresAt) => {
            intents.push({ details: i.details, expiresAt });
            log.push('ledger.intend');
            return { key: 'k-1' } as LedgerEntry;
          },
          update: () => ({}) as LedgerEntry,
          close: (key) => void log.push(`ledger.close ${key}`),
        },
        close: () => void log.push('providers.close'),
      };
    },
    planRunner: (d) => ({
      run: (plan, opts) => {
        log.push('run');
        return (o.schedule ?? passing())(plan, d, opts.runId);
      },
    }),
  };
  return { deps, log, errors, notices, written, intents, ends, health, clock };
}

async function request(over: Partial<RunRequest> = {}): Promise<RunRequest> {
  return {
    plan: await planText(MATRIX),
    state: '.state',
    tags: [],
    maxRegressionPct: 5,
    maxLifetimeMs: 3_600_000,
    wait: true,
    webhooks: [],
    ...over,
  };
}

describe('executeRun', () => {
  it('a run that ends well: its report, each resource closed once, progress first and the stores before the providers', async () => {
    const h = harness();
    const report = await executeRun(await request({ runId: 'r-1', tags: ['nightly'] }), h.deps);
    expect(report.run).toMatchObject({ id: 'r-1', status: 'passed' });
    expect(report.plan.cells).toHaveLength(2);
    expect(report.skipped).toEqual([]);
    expect(report.gate).toBeUndefined();
    expect(h.log).toEqual([
      'stores.open',
      'providers.open',
      'ledger.intend',
      'progress 2',
      'run',
      'event run-started',
      'progress.stop',
      'ledger.close k-1',
      'events.flush',
      'stores.close',
      'providers.close',
    ]);
    // The run's entry expires with the machines' lifetime, so gc ends it should this process die.
    expect(h.intents).toEqual([
      { details: { runId: 'r-1' }, expiresAt: new Date(h.clock.now() + 3_600_000) },
    ]);
    expect(h.errors).toEqual([]);
  });

  it('a scheduler failure before the run started: a shard stores an error part; the error is the one thrown; all closed once', async () => {
    const boom = new InfrastructureError('no machine');
    const h = harness({ schedule: async () => Promise.reject(boom) });
    const err = await executeRun(
      await request({ runId: 'ci-7', shard: { index: 3, total: 3 } }),
      h.deps,
    ).catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(h.notices).toEqual(['shard 3/3: 0 of 2 cells', expect.stringMatching(/has no cells/)]);
    expect(h.written.map((r) => [r.id, r.status, r.shard])).toEqual([
      ['ci-7', 'error', { index: 3, total: 3 }],
      ['ci-7', 'error', { index: 3, total: 3 }],
    ]);
    expect(h.log.filter((l) => /close|stop|flush/.test(l))).toEqual([
      'progress.stop',
      'ledger.close k-1',
      'events.flush',
      'providers.close',
      'stores.close',
    ]);
  });

  it('a run that started is never given an error part, whatever ends it', async () => {
    const h = harness({
      schedule: async (plan, d, runId) => {
        await passing()(plan, d, runId);
        throw new CancelledError(`run ${runId} cancelled`);
      },
    });
    await expect(
      executeRun(await request({ runId: 'ci-7', shard: { index: 1, total: 2 } }), h.deps),
    ).rejects.toThrow(CancelledError);
    expect(h.written.map((r) => r.status)).toEqual(['running', 'passed']);
  });

  it("stores that fail to close after a failed run are logged: the user reads the run's error", async () => {
    const boom = new InfrastructureError('engine gone');
    const h = harness({
      schedule: async () => Promise.reject(boom),
      storesClose: async () => Promise.reject(new InfrastructureError('secondary store failed')),
    });
    await expect(executeRun(await request(), h.deps)).rejects.toBe(boom);
    expect(h.errors).toEqual(['InfrastructureError: secondary store failed']);
  });

  it('a secondary store that failed on the way fails a run that went well (exit 3), once', async () => {
    const failed = new InfrastructureError(
      'results are complete in the embedded store, but a secondary store failed',
    );
    const h = harness({ storesClose: async () => Promise.reject(failed) });
    await expect(executeRun(await request(), h.deps)).rejects.toBe(failed);
    expect(h.log.filter((l) => l === 'stores.close')).toHaveLength(1);
    expect(h.errors).toEqual([]);
  });

  it("the state folder failing under the run: one message; the run's entry left open for gc where its end was not stored", async () => {
    const fault = new InfrastructureError('writing to /state/benchyard.db: disk full', {
      file: '/state/benchyard.db',
      code: 'SQLITE_FULL',
    });
    const h = harness();
    h.deps.planRunner = () => ({
      run: async (_plan, { runId }) => {
        h.health.failure = fault;
        h.ends.set(runId, false);
        throw fault;
      },
    });
    const err = (await executeRun(await request({ runId: 'r-9' }), h.deps).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(InfrastructureError);
    expect(err.message).toMatch(
      /^writing to \/state\/benchyard.db: disk full\nrun r-9 stopped, and its end could not be stored either/,
    );
    expect(err.message).toMatch(/Free space on the disk under .state/);
    expect(h.log).not.toContain('ledger.close k-1');
  });

  it("samples lost after the last result make the run fail with the state folder's message", async () => {
    const h = harness();
    h.deps.planRunner = (d) => ({
      run: async (plan, { runId }) => {
        const out = await passing()(plan, d, runId);
        h.health.failure = new InfrastructureError('writing samples: disk full', {
          file: '/state/benchyard.db',
        });
        h.health.lost = { samples: 12, events: 0 };
        return out;
      },
    });
    await expect(executeRun(await request({ runId: 'r-2' }), h.deps)).rejects.toThrow(
      /run r-2 stopped; it is marked 'error' with what was stored before the failure \(12 metric samples after the failure were not stored\)/,
    );
    expect(h.log.filter((l) => l === 'stores.close')).toHaveLength(1);
  });

  it('a run id already taken: refused before any store or provider is opened', async () => {
    const taken: StoredRuns = {
      getRun: async (id) => ({ id }) as RunRecord,
      listRuns: async () => [],
      listResults: async () => [],
      close: async () => {},
    };
    const h = harness({ history: taken });
    await expect(executeRun(await request({ runId: 'r-1' }), h.deps)).rejects.toThrow(
      new InputError("--run-id: run 'r-1' exists in '.state'", { runId: 'r-1' }),
    );
    expect(h.log).toEqual([]);
  });

  it('with a baseline: the run is gated against its results', async () => {
    const score = (runId: string, repetition: number, value: number) =>
      repetitionResult({
        runId,
        cellId: 'c-1',
        repetition,
        scores: [{ name: 'eps', value, unit: 'events/s', direction: 'higher' }],
      });
    const reps = [1, 2, 3, 4, 5];
    const base = reps.map((r) => score('base', r, 1000 + r));
    const history: StoredRuns = {
      getRun: async (id) => (id === 'base' ? ({ id } as RunRecord) : undefined),
      listRuns: async () => [],
      listResults: async (q) => (q.runId === 'base' ? base : []),
      close: async () => {},
    };
    const h = harness({ history, schedule: passing((runId) => reps.map((r) => score(runId, r, 500 + r))) });
    const report = await executeRun(await request({ baseline: 'base', maxRegressionPct: 10 }), h.deps);
    expect(report.gate?.comparison.baseline).toBe('base');
    expect(report.gate?.regressions.map((r) => Math.round(r.pct))).toEqual([50]);
  });
});

describe('closing', () => {
  it('closes once; disposal after an explicit close neither closes again nor reports its failure twice', async () => {
    let closes = 0;
    const logged: unknown[] = [];
    const c = closing(
      async () => {
        closes++;
        throw new Error('x');
      },
      (e) => logged.push(e),
    );
    await expect(c.close()).rejects.toThrow('x');
    await c[Symbol.asyncDispose]();
    expect([closes, logged]).toEqual([1, []]);
  });

  it('disposal alone logs a failure instead of throwing it', async () => {
    const logged: unknown[] = [];
    await closing(
      () => {
        throw new Error('y');
      },
      (e) => logged.push(e),
    )[Symbol.asyncDispose]();
    expect(logged).toEqual([new Error('y')]);
  });
});
