/**
 * gc's decisions (src/gc) with fakes at its ports: a ledger in memory, providers that list
 * and destroy on demand, a manual clock, controllers alive or dead as the test says.
 */
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import {
  InfrastructureError,
  InputError,
  OwnershipError,
  type LedgerEntry,
  type MachineLeases,
  type Provider,
  type ResourceRef,
  type SshEndpoint,
  type SshSession,
} from '../../src/core/index.js';
import {
  collectGarbage,
  forget,
  gcFailure,
  RUN_LEDGER_PROVIDER,
  type GcDeps,
  type GcRequest,
  type SweepOptions,
} from '../../src/gc/index.js';
import { ManualClock } from '../helpers/manual-clock.js';

const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const LATER = '2026-06-01T18:00:00.000Z';
const EARLIER = '2026-06-01T06:00:00.000Z';

function entry(over: Partial<LedgerEntry> & { key: string }): LedgerEntry {
  return {
    provider: 'aws',
    kind: 'instance',
    session: 's-old',
    owner: 'ann@lab',
    status: 'active',
    createdAt: EARLIER,
    updatedAt: EARLIER,
    expiresAt: LATER,
    details: { controllerHost: 'lab', controllerPid: 100 },
    ...over,
  };
}

/** A ledger in memory with the SqliteLedger's `open` semantics (not closed, filters, oldest first). */
function memoryLedger(entries: LedgerEntry[]) {
  const closed: { key: string; status: string; error?: string }[] = [];
  return {
    closed,
    open: (f: { provider?: string; session?: string } = {}) =>
      entries.filter(
        (e) =>
          e.status !== 'released' &&
          e.status !== 'failed' &&
          (!f.provider || e.provider === f.provider) &&
          (!f.session || e.session === f.session),
      ),
    get: (key: string) => entries.find((e) => e.key === key),
    all: () => [...entries].reverse(),
    close(key: string, status: 'released' | 'failed' = 'released', error?: string) {
      closed.push({ key, status, ...(error ? { error } : {}) });
      const e = entries.find((x) => x.key === key);
      if (e) e.status = status;
    },
  };
}

/** A provider whose listing is `found` and whose destroy answers as `destroy` says. */
function cloud(
  found: ResourceRef[],
  o: {
    destroy?: (ref: ResourceRef) => Promise<void>;
    absent?: (ref: ResourceRef) => Promise<boolean>;
    discover?: () => Promise<ResourceRef[]>;
  } = {},
) {
  const destroyed: string[] = [];
  const provider: Provider & { destroyed: string[] } = {
    name: 'aws',
    capabilities: { elastic: true, spot: false, selfTerminate: true },
    acquire: () => Promise.reject(new Error('not in gc')),
    release: async () => {},
    discover: o.discover ?? (async () => found),
    destroy: async (ref) => {
      await o.destroy?.(ref);
      destroyed.push(ref.id);
    },
    ...(o.absent ? { absent: o.absent } : {}),
    destroyed,
  };
  return provider;
}

function deps(
  ledger: ReturnType<typeof memoryLedger>,
  providers: Provider[],
  over: Partial<GcDeps> = {},
): GcDeps & { marked: string[]; runsOpened: () => number } {
  const marked: string[] = [];
  let opened = 0;
  return {
    ledger,
    providers: new Map(providers.map((p) => [p.name, p])),
    openRuns: () => {
      opened++;
      return {
        cancelOrphan: (runId: string, at: string, shard?: number) => {
          marked.push(`${runId}${shard !== undefined ? `#${shard}` : ''} at ${at}`);
          return runId !== 'ended';
        },
        close: async () => {},
      };
    },
    leases: {} as MachineLeases,
    localEngine: () => undefined,
    sshEndpoint: () => undefined,
    connect: () => Promise.reject(new Error('no ssh here')),
    clock: new ManualClock(NOW),
    // pid 100 on lab is alive; anything else is gone.
    controllerRuns: (host, pid) => (host === 'lab' ? pid === 100 : undefined),
    pid: 4242,
    sweep: async () => [],
    ...over,
    marked,
    runsOpened: () => opened,
  };
}

const run = (req: GcRequest, d: GcDeps) => collectGarbage(req, d, new AbortController().signal);
const ref = (over: Partial<ResourceRef> & { id: string }): ResourceRef => ({
  provider: 'aws',
  kind: 'instance',
  ...over,
});

describe('gc: open ledger entries and tagged resources', () => {
  it("a live controller's entry is kept, and what it points to is not destroyed; --force destroys it", async () => {
    const e = entry({ key: 'k1', resourceId: 'i-1' });
    const found = [ref({ id: 'i-1', ledgerKey: 'k1', session: 's-old' })];
    const aws = cloud(found);
    const report = await run({}, deps(memoryLedger([e]), [aws]));
    expect(report.rows).toEqual([
      {
        provider: 'aws',
        kind: 'instance',
        id: 'i-1',
        session: 's-old',
        action: 'kept: controller pid 100 is running',
      },
    ]);
    expect(aws.destroyed).toEqual([]);

    const forced = cloud(found);
    const ledger = memoryLedger([entry({ key: 'k1', resourceId: 'i-1' })]);
    expect((await run({ force: true }, deps(ledger, [forced]))).rows.map((r) => r.action)).toEqual([
      'destroyed',
    ]);
    expect(forced.destroyed).toEqual(['i-1']);
    expect(ledger.closed).toEqual([{ key: 'k1', status: 'released' }]);
  });

  it('an entry holding several objects (a holder, agent and benchmark pods) closes once all are destroyed, and stays open if one is not', async () => {
    const pods = (key: string) =>
      ['holder', 'agent', 'bench'].map((id) => ref({ id: `${id}-${key}`, ledgerKey: key, session: 's-old' }));
    const dead = { controllerHost: 'lab', controllerPid: 7 };
    const ledger = memoryLedger([entry({ key: 'k1', details: dead }), entry({ key: 'k2', details: dead })]);
    const aws = cloud([...pods('k1'), ...pods('k2')], {
      destroy: async (r) => {
        if (r.id === 'agent-k2') throw new OwnershipError('not ours');
      },
    });
    const report = await run({}, deps(ledger, [aws]));
    expect(Object.fromEntries(report.rows.map((r) => [r.id, r.action]))).toEqual({
      'holder-k1': 'destroyed',
      'agent-k1': 'destroyed',
      'bench-k1': 'destroyed',
      'holder-k2': 'destroyed',
      'agent-k2': "kept: not benchyard's: not ours",
      'bench-k2': 'destroyed',
    });
    expect(ledger.closed).toEqual([{ key: 'k1', status: 'released' }]);
    expect(ledger.open().map((e) => e.key)).toEqual(['k2']);
    expect(report.failures).toBe(1);
  });

  it("an expired entry of a live controller, or this process's own, is not kept", async () => {
    const expired = entry({ key: 'k1', resourceId: 'i-1', expiresAt: EARLIER });
    const mine = entry({
      key: 'k2',
      resourceId: 'i-2',
      details: { controllerHost: 'lab', controllerPid: 4242 },
    });
    const aws = cloud([ref({ id: 'i-1', ledgerKey: 'k1' }), ref({ id: 'i-2', ledgerKey: 'k2' })]);
    await run({}, deps(memoryLedger([expired, mine]), [aws], { controllerRuns: () => true }));
    expect(aws.destroyed).toEqual(['i-1', 'i-2']);
  });

  it('a found resource is destroyed only where this ledger knows it, it expired, --all, or its --session', async () => {
    const e = entry({ key: 'k1', details: { controllerHost: 'lab', controllerPid: 7 } });
    const found = [
      ref({ id: 'no-identity' }),
      ref({ id: 'foreign-fresh', session: 's-other', expiresAt: LATER }),
      ref({ id: 'foreign-expired', session: 's-other', expiresAt: EARLIER }),
      ref({ id: 'ours', ledgerKey: 'k1', session: 's-old' }),
    ];
    const actions = async (req: GcRequest) => {
      const aws = cloud(found);
      const report = await run(req, deps(memoryLedger([{ ...e }]), [aws]));
      return Object.fromEntries(report.rows.map((r) => [r.id, r.action]));
    };
    expect(await actions({})).toEqual({
      'no-identity': 'kept: carries no benchyard identity',
      'foreign-fresh': 'kept: not in this ledger and not expired (--all)',
      'foreign-expired': 'destroyed',
      ours: 'destroyed',
    });
    expect((await actions({ all: true }))['foreign-fresh']).toBe('destroyed');
    expect((await actions({ all: true }))['no-identity']).toBe('kept: carries no benchyard identity');
    // --session: what that session tagged is fair game, known to this ledger or not.
    const aws = cloud(found);
    const other = entry({ key: 'k9', session: 's-other', details: {} });
    const report = await run({ session: 's-other' }, deps(memoryLedger([other]), [aws]));
    expect(report.rows.find((r) => r.id === 'foreign-fresh')?.action).toBe('destroyed');
    expect(aws.destroyed).not.toContain('ours');
  });

  it('--dry-run destroys and closes nothing, and says what it would do', async () => {
    const ledger = memoryLedger([
      entry({ key: 'k1', resourceId: 'i-1', details: {} }),
      entry({ key: 'k2', resourceId: 'i-2', details: {} }),
    ]);
    const aws = cloud([ref({ id: 'i-1', ledgerKey: 'k1', session: 's-old' })], { absent: async () => true });
    const report = await run({ dryRun: true }, deps(ledger, [aws]));
    expect(report.rows.map((r) => [r.id, r.action])).toEqual([
      ['i-1', 'would destroy'],
      ['i-2', 'would forget (gone)'],
    ]);
    expect([aws.destroyed, ledger.closed]).toEqual([[], []]);
  });

  it("a resource that will not prove it is benchyard's is kept; for an entry of this ledger that is a failure", async () => {
    const ledger = memoryLedger([entry({ key: 'k1', resourceId: 'i-1', details: {} })]);
    const aws = cloud(
      [
        ref({ id: 'i-1', ledgerKey: 'k1', session: 's-old' }),
        ref({ id: 'i-9', session: 's-x', expiresAt: EARLIER }),
      ],
      { destroy: async () => Promise.reject(new OwnershipError('tag benchyard:ledger-key differs')) },
    );
    const report = await run({}, deps(ledger, [aws]));
    expect(report.rows.map((r) => r.action)).toEqual([
      "kept: not benchyard's: tag benchyard:ledger-key differs",
      "kept: not benchyard's: tag benchyard:ledger-key differs",
    ]);
    expect(report.failures).toBe(1);
    expect(ledger.closed).toEqual([]);
  });

  it('a destroy that fails is a failure, its entry left open', async () => {
    const ledger = memoryLedger([entry({ key: 'k1', resourceId: 'i-1', details: {} })]);
    const aws = cloud([ref({ id: 'i-1', ledgerKey: 'k1', session: 's-old' })], {
      destroy: async () => Promise.reject(new InfrastructureError('RequestLimitExceeded')),
    });
    const report = await run({}, deps(ledger, [aws]));
    expect(report.rows.map((r) => r.action)).toEqual(['FAILED: RequestLimitExceeded']);
    expect([report.failures, ledger.closed]).toEqual([1, []]);
    expect(gcFailure(report)?.message).toBe('gc: 1 resources could not be cleaned up; run it again');
  });

  it('an entry its provider no longer lists is closed only once the provider confirms it is gone', async () => {
    const ledger = memoryLedger([
      entry({ key: 'gone', resourceId: 'i-1', details: {} }),
      entry({ key: 'never-created', details: {} }),
      entry({ key: 'unsure', resourceId: 'i-3', details: {} }),
    ]);
    const aws = cloud([], { absent: async (r) => r.ledgerKey !== 'unsure' });
    const report = await run({}, deps(ledger, [aws]));
    expect(report.rows.map((r) => [r.id, r.action])).toEqual([
      ['i-1', 'forgotten (gone)'],
      ['never-created', 'forgotten (gone)'],
      ['i-3', 'kept: not listed, but aws cannot confirm it is gone'],
    ]);
    expect(report.failures).toBe(1);
    expect(ledger.closed.map((c) => [c.key, c.status])).toEqual([
      ['gone', 'released'],
      ['never-created', 'failed'],
    ]);
  });

  it('a provider that cannot list keeps its entries, as a failure; one this ledger never used is not asked', async () => {
    const ledger = memoryLedger([entry({ key: 'k1', resourceId: 'i-1', details: {} })]);
    const aws = cloud([], { discover: async () => Promise.reject(new Error('endpoint unreachable')) });
    let asked = false;
    const other = { ...cloud([]), name: 'softlayer', discover: async () => ((asked = true), []) };
    const report = await run({}, deps(ledger, [aws, other]));
    expect(report.rows.map((r) => r.action)).toEqual(['kept: cannot list aws: endpoint unreachable']);
    expect([report.failures, asked]).toEqual([1, false]);
  });
});

describe('gc: runs whose controller is gone', () => {
  const runEntry = (key: string, runId: string, pid: number, over: Partial<LedgerEntry> = {}) =>
    entry({
      key,
      provider: RUN_LEDGER_PROVIDER,
      kind: 'run',
      resourceId: runId,
      details: { runId, controllerHost: 'lab', controllerPid: pid },
      ...over,
    });

  it('marks them cancelled and closes their entries; a live one is left alone; an expired one is ended', async () => {
    const ledger = memoryLedger([
      runEntry('a', 'r-dead', 7),
      runEntry('b', 'r-live', 100),
      runEntry('c', 'r-expired', 100, { expiresAt: EARLIER }),
      runEntry('d', 'ended', 7),
      runEntry('e', 'ci-1', 7, {
        details: { runId: 'ci-1', shard: 2, controllerHost: 'lab', controllerPid: 7 },
      }),
    ]);
    const d = deps(ledger, []);
    const report = await run({}, d);
    expect(report.rows.map((r) => [r.id, r.action])).toEqual([
      ['r-live', 'kept: controller pid 100 is running'],
      ['r-dead', 'marked cancelled (its controller is gone)'],
      ['r-expired', 'marked cancelled (its controller is gone)'],
      ['ended', 'forgotten (it had ended)'],
      ['ci-1', 'marked cancelled (its controller is gone)'],
    ]);
    expect(d.marked).toEqual([
      `r-dead at ${new Date(NOW).toISOString()}`,
      `r-expired at ${new Date(NOW).toISOString()}`,
      `ended at ${new Date(NOW).toISOString()}`,
      `ci-1#2 at ${new Date(NOW).toISOString()}`,
    ]);
    expect(ledger.closed.map((c) => c.key)).toEqual(['a', 'c', 'd', 'e']);
  });

  it('the store is not opened where no run needs ending, and --dry-run marks nothing', async () => {
    const none = deps(memoryLedger([runEntry('b', 'r-live', 100)]), []);
    await run({}, none);
    expect(none.runsOpened()).toBe(0);
    const dry = deps(memoryLedger([runEntry('a', 'r-dead', 7)]), []);
    const report = await run({ dryRun: true }, dry);
    expect(report.rows.map((r) => r.action)).toEqual(['would mark cancelled (its controller is gone)']);
    expect([dry.marked, dry.ledger.open().length]).toEqual([[], 1]);
  });
});

describe('gc: engines', () => {
  const endpoint = (host: string): SshEndpoint =>
    ({
      host,
      port: 22,
      user: 'root',
      verifyHostKey: true,
      dockerSocket: '/var/run/docker.sock',
    }) as SshEndpoint;
  const sshEntry = (key: string, host: string, status: LedgerEntry['status']) =>
    entry({ key, provider: 'ssh', kind: 'lease', status, details: { host } });

  it("this machine's engine and each SSH host of the ledger once; a host only closed entries know that does not answer is no failure", async () => {
    const swept: string[] = [];
    const ledger = memoryLedger([
      sshEntry('1', 'h1', 'released'),
      sshEntry('2', 'h1', 'active'),
      sshEntry('3', 'h2', 'released'),
      sshEntry('4', 'h3', 'active'),
    ]);
    const d = deps(ledger, [], {
      localEngine: () => ({}) as Docker,
      sshEndpoint: (details) => endpoint(String(details.host)),
      connect: async (e) =>
        e.host === 'h1'
          ? ({ docker: {} as Docker, close: async () => void swept.push('closed h1') } as SshSession)
          : Promise.reject(new Error(`${e.host} unreachable`)),
      sweep: async (_docker, where, o: SweepOptions) => {
        swept.push(`${where} dry=${o.dryRun} now=${o.now}`);
        return [{ engine: where, kind: 'containers', session: 's-old', action: 'removed 2' }];
      },
      // No ledger entry of a live controller gets in the way of the engine rows.
      controllerRuns: () => false,
    });
    const report = await run({}, d);
    expect(swept).toEqual([`local dry=false now=${NOW}`, `root@h1:22 dry=false now=${NOW}`, 'closed h1']);
    const engineRows = report.rows.filter((r) => r.provider === 'docker');
    expect(engineRows.map((r) => [r.id, r.action])).toEqual([
      ['local', 'removed 2'],
      ['root@h3:22', 'FAILED: h3 unreachable'],
      ['root@h2:22', 'not reached: h2 unreachable'],
      ['root@h1:22', 'removed 2'],
    ]);
    expect(report.failures).toBe(1);
  });
});

describe('gc --forget', () => {
  const signal = new AbortController().signal;

  it('closes an entry its provider proves absent; refuses where it cannot or something exists', async () => {
    const ledger = memoryLedger([
      entry({ key: 'k1' }),
      entry({ key: 'k2' }),
      entry({ key: 'k3', status: 'released' }),
      entry({ key: 'k4', provider: 'local' }),
    ]);
    const aws = cloud([], { absent: async (r) => r.ledgerKey === 'k1' });
    const local = { ...cloud([]), name: 'local' };
    const d = {
      ledger,
      providers: new Map<string, Provider>([
        ['aws', aws],
        ['local', local],
      ]),
    };
    expect((await forget('k1', d, signal)).action).toBe('forgotten (provably never created, or gone)');
    expect(ledger.closed).toEqual([
      { key: 'k1', status: 'failed', error: 'forgotten by gc --forget: nothing of it exists at aws' },
    ]);
    await expect(forget('k2', d, signal)).rejects.toThrow(InfrastructureError);
    expect((await forget('k3', d, signal)).action).toBe('already closed (released)');
    await expect(forget('k4', d, signal)).rejects.toThrow(/local cannot prove that nothing of k4 exists/);
    await expect(forget('nope', d, signal)).rejects.toThrow(
      new InputError("gc --forget: no ledger entry 'nope' in this state folder"),
    );
  });

  it("a run's entry is closed without asking a provider", async () => {
    const ledger = memoryLedger([entry({ key: 'r', provider: RUN_LEDGER_PROVIDER, kind: 'run' })]);
    expect((await forget('r', { ledger, providers: new Map() }, signal)).action).toMatch(/^forgotten/);
  });
});
