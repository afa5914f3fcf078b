/**
 * The state folder failing under the stores (issue 15): a full disk (a 2 MiB tmpfs), a
 * read-only file system, a lock another process holds past the busy timeout. Every write
 * that fails is an InfrastructureError naming the file; the store stops at its first
 * fault without throwing from the sample and event sinks; a run's end is still written,
 * spending the disk reserve where needed; and the database stays intact.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InfrastructureError,
  silentLogger,
  type MetricSample,
  type RunRecord,
} from '../../src/core/index.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { SqlitePoolStore } from '../../src/pool/index.js';
import { ArtifactDir, FanoutStore, SqliteStore } from '../../src/store/index.js';
import { RESERVE_BYTES, RESERVE_FILE } from '../../src/store/disk-reserve.js';
import { ROOT } from '../helpers/catalog.js';
import { repetitionResult } from '../helpers/results.js';
import { fillDisk, mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

const mounts: Tmpfs[] = [];
const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
  for (const m of mounts.splice(0)) m.unmount();
});

function tmpfs(size = '2m'): Tmpfs {
  const m = mountTmpfs(size, 'by-state-fault-');
  mounts.push(m);
  return m;
}

function store(dir: string): SqliteStore {
  const s = new SqliteStore(dir);
  opened.push(s);
  return s;
}

const run = (id: string): RunRecord => ({
  id,
  name: 'faults',
  matrixPath: '/m.yaml',
  status: 'running',
  startedAt: '2026-12-01T00:00:00.000Z',
  cells: 1,
  repetitions: 3,
  passed: 0,
  failed: 0,
});

const samples = (runId: string, from: number, n = 200): MetricSample[] =>
  Array.from({ length: n }, (_, i) => ({
    runId,
    cellId: 'c',
    repetition: 1,
    scope: 'container',
    name: 'container.cpu.usage.cores',
    unit: 'cores',
    value: Math.random(),
    timestamp: 1_700_000_000_000 + from + i,
    seq: from + i,
    host: 'vm',
  }));

/** What a fresh connection reads: the integrity check and the run's status. */
function inspect(dir: string, runId: string): { integrity: string; status: string | undefined } {
  const db = new Database(path.join(dir, 'benchyard.db'), { readonly: true });
  try {
    const integrity = (db.pragma('integrity_check', { simple: true }) as string) ?? '';
    const row = db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as
      { status: string } | undefined;
    return { integrity, status: row?.status };
  } finally {
    db.close();
  }
}

const FULL = /in \S+\/benchyard\.db failed: the disk is full \(SQLITE_FULL\)/;

describe('a full disk under the state folder', () => {
  it("fails the write that finds it, naming the file; the store stops there but writes the run's end as 'error'", async () => {
    const { dir } = tmpfs();
    const s = store(dir);
    await s.startRun(run('r-full'), []);
    await s.recordResult(repetitionResult({ runId: 'r-full', cellId: 'c', repetition: 1 }));
    // Samples come from timers: the sink never throws, the fault is kept instead.
    let sent = 0;
    while (!s.failure && sent < 200_000) {
      expect(() => s.write(samples('r-full', sent))).not.toThrow();
      sent += 200;
    }
    expect(s.failure).toBeInstanceOf(InfrastructureError);
    expect(s.failure!.message).toMatch(/^storing metric samples in /);
    expect(s.failure!.message).toMatch(FULL);
    expect(s.failure!.message).toContain(path.join(dir, 'benchyard.db'));
    expect(s.lost.samples).toBe(200);

    // One fault, kept: later writes throw it (or, for the sinks, count what they drop).
    const next = repetitionResult({ runId: 'r-full', cellId: 'c', repetition: 2 });
    await expect(s.recordResult(next)).rejects.toBe(s.failure);
    expect(() => s.write(samples('r-full', sent, 5))).not.toThrow();
    expect(() =>
      s.recordEvents([
        {
          machineId: 'local:vm',
          host: 'vm',
          containerId: 'c0ffee',
          name: 'x',
          action: 'die',
          timeNano: '1',
          timestamp: 0,
          session: 's',
        },
      ]),
    ).not.toThrow();
    expect(s.lost).toEqual({ samples: 205, events: 1 });

    // The run's end is written anyway, and says the record is incomplete.
    await s.finishRun({ ...run('r-full'), status: 'passed', finishedAt: '2026-12-01T00:01:00.000Z' });
    expect(s.runEndStored('r-full')).toBe(true);
    await s.close();
    expect(inspect(dir, 'r-full')).toEqual({ integrity: 'ok', status: 'error' });
  });

  it("keeps a reserve that the run's end spends when the disk was filled by something else", async () => {
    const { dir } = tmpfs();
    const s = store(dir);
    expect(statSync(path.join(dir, RESERVE_FILE)).size).toBe(RESERVE_BYTES);
    await s.startRun(run('r-other'), []);
    fillDisk(path.join(dir, 'filler'));
    expect(statfsSync(dir).bavail).toBe(0);

    s.write(samples('r-other', 0, 1));
    expect(s.failure?.message).toMatch(FULL);
    await s.finishRun({ ...run('r-other'), status: 'failed' });
    expect(existsSync(path.join(dir, RESERVE_FILE))).toBe(false);
    await s.close();
    expect(inspect(dir, 'r-other')).toEqual({ integrity: 'ok', status: 'error' });

    // With room again, the next store opened makes the reserve anew.
    rmSync(path.join(dir, 'filler'));
    store(dir);
    expect(statSync(path.join(dir, RESERVE_FILE)).size).toBe(RESERVE_BYTES);
  });

  it("without the reserve, the run's end fails too: the run stays 'running' until it is cancelled with room again", async () => {
    const { dir } = tmpfs();
    const s = store(dir);
    await s.startRun(run('r-stuck'), []);
    rmSync(path.join(dir, RESERVE_FILE));
    fillDisk(path.join(dir, 'filler'));

    await expect(s.recordResult(repetitionResult({ runId: 'r-stuck' }))).rejects.toThrow(FULL);
    const fault = s.failure;
    await expect(s.finishRun({ ...run('r-stuck'), status: 'error' })).rejects.toBe(fault);
    expect(s.runEndStored('r-stuck')).toBe(false);
    await s.close();
    expect(inspect(dir, 'r-stuck')).toEqual({ integrity: 'ok', status: 'running' });

    // What `benchyard gc` does once there is room: the orphan is marked cancelled.
    rmSync(path.join(dir, 'filler'));
    const later = store(dir);
    expect(later.cancelOrphan('r-stuck', '2026-12-01T01:00:00.000Z')).toBe(true);
    await later.close();
    expect(inspect(dir, 'r-stuck')).toEqual({ integrity: 'ok', status: 'cancelled' });
  });

  it("still tells the secondary stores the run's end where the embedded store cannot keep it", async () => {
    const { dir } = tmpfs();
    const s = store(dir);
    await s.startRun(run('r-fan'), []);
    const ends: string[] = [];
    const secondary = {
      startRun: async () => {},
      recordResult: async () => {},
      finishRun: async (r: RunRecord) => void ends.push(r.status),
      write: () => {},
      flush: async () => {},
      close: async () => {},
    };
    const fanout = new FanoutStore(s, [secondary], silentLogger);
    rmSync(path.join(dir, RESERVE_FILE));
    fillDisk(path.join(dir, 'filler'));
    fanout.write(samples('r-fan', 0, 1));
    await expect(fanout.finishRun({ ...run('r-fan'), status: 'error' })).rejects.toBe(s.failure);
    expect(ends).toEqual(['error']);
  });

  it('makes the ledger and the pools fail with the file named, before anything is created', () => {
    const { dir } = tmpfs();
    const ledger = new SqliteLedger(dir, 's-full');
    const pools = new SqlitePoolStore(dir);
    opened.push({ close: () => ledger.dispose() }, { close: () => pools.dispose() });
    rmSync(path.join(dir, RESERVE_FILE), { force: true });
    fillDisk(path.join(dir, 'filler'));

    const intend = () => ledger.intend({ provider: 'aws', kind: 'instance' }, new Date(Date.now() + 60_000));
    expect(intend).toThrow(InfrastructureError);
    expect(intend).toThrow(
      /^recording aws instance in the ledger of \S+benchyard\.db failed: the disk is full/,
    );
    expect(() => pools.add('lab', { host: 'gpu-1' })).toThrow(
      /^adding gpu-1 to pool 'lab' in \S+ failed: the disk is full/,
    );
    expect(ledger.open()).toEqual([]);
  });

  it('an artifact that fills the disk is a fault of the state folder: named, reported to the store, not kept half-written', async () => {
    const { dir } = tmpfs('1m');
    const faults: InfrastructureError[] = [];
    const artifacts = new ArtifactDir(path.join(dir, 'artifacts'), { onFault: (f) => faults.push(f) });
    const chunk = Buffer.alloc(64 * 1024, 1);
    const big = Readable.from(
      (function* () {
        for (let i = 0; i < 32; i++) yield chunk; // 2 MiB into 1 MiB
      })(),
    );
    const saving = artifacts.save({ runId: 'r', cellId: 'c', repetition: 1 }, '/out/big.bin', big, {
      bytes: 2 * 1024 * 1024,
      truncated: false,
    });
    await expect(saving).rejects.toThrow(
      /^keeping artifact \/out\/big\.bin at \S+\/out\/big\.bin failed: the disk is full \(ENOSPC\)/,
    );
    expect(faults).toHaveLength(1);
    expect(readdirSync(path.join(dir, 'artifacts/r/c/1/out'))).toEqual([]);
  });
});

describe('a read-only state folder', () => {
  it('makes opening the store, the ledger and the pools an InfrastructureError that says so, and touches nothing', async () => {
    const m = tmpfs();
    const s = new SqliteStore(m.dir);
    await s.startRun(run('r-ro'), []);
    await s.close();
    m.remount({ rw: false });
    const readOnly =
      /\S+benchyard\.db failed: it cannot be opened: \S+ is on a read-only file system \(SQLITE_CANTOPEN\)/;
    expect(() => new SqliteStore(m.dir)).toThrow(InfrastructureError);
    expect(() => new SqliteStore(m.dir)).toThrow(readOnly);
    expect(() => new SqliteLedger(m.dir, 's')).toThrow(readOnly);
    expect(() => new SqlitePoolStore(m.dir)).toThrow(readOnly);
    m.remount({ rw: true });
    expect(inspect(m.dir, 'r-ro')).toEqual({ integrity: 'ok', status: 'running' });
  });
});

describe('a state file another process holds locked', () => {
  let holder: ChildProcess | undefined;
  afterEach(() => void holder?.kill('SIGKILL'));

  it('fails a write after the busy timeout with a message that says so; the sinks do not throw', async () => {
    const { dir } = tmpfs();
    const s = store(dir);
    const ledger = new SqliteLedger(dir, 's-lock');
    opened.push({ close: () => ledger.dispose() });
    await s.startRun(run('r-lock'), []);
    holder = spawn(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(path.join(dir, 'benchyard.db'))});
         d.exec('BEGIN EXCLUSIVE'); d.exec("UPDATE runs SET name = 'held'"); console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => holder!.stdout!.once('data', resolve));

    const locked =
      /\S+benchyard\.db failed: another process held it locked for more than 5 s \(SQLITE_BUSY\)/;
    const t0 = Date.now();
    expect(() => s.write(samples('r-lock', 0, 1))).not.toThrow();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4_900);
    expect(s.failure?.message).toMatch(locked);
    // Once failed, the store does not wait again.
    const t1 = Date.now();
    await expect(s.recordResult(repetitionResult({ runId: 'r-lock' }))).rejects.toBe(s.failure);
    expect(Date.now() - t1).toBeLessThan(1_000);
    expect(() => ledger.close('nope')).toThrow(locked);

    holder.kill('SIGKILL');
    await new Promise((resolve) => holder!.once('exit', resolve));
    await s.finishRun({ ...run('r-lock'), status: 'passed' });
    await s.close();
    expect(inspect(dir, 'r-lock')).toEqual({ integrity: 'ok', status: 'error' });
  }, 30_000);
});
