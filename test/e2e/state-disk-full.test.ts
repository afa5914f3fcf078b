/**
 * The machine under benchyard fails (issue 15): the state folder on a 2 MiB tmpfs that
 * the run fills (with samples, or with an artifact), a read-only state folder, and the
 * state file locked by another process past the busy timeout. Each run ends with exit 3
 * and one message naming the file, never a stack or exit 1; the database stays intact;
 * the run reads `error`, or, where even that could not be written, `running` until
 * `benchyard gc` marks it cancelled.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../src/ledger/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { ROOT } from '../helpers/catalog.js';
import { cli, startCli, until, type CliResult } from '../helpers/cli.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-state-e2e-'));
const mounts: Tmpfs[] = [];
let holder: ChildProcess | undefined;
afterEach(() => {
  holder?.kill('SIGKILL');
  for (const m of mounts.splice(0)) m.unmount();
});
afterAll(() => holder?.kill('SIGKILL'));

function matrix(name: string, command: string, extra = ''): string {
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
repetitions: 3
metrics: { interval: 100ms, gpu: false }
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark:
      name: ${name}
      image: benchyard/bench-tools:1
      network: none
      command: ["sh", "-c", ${JSON.stringify(command)}]
      scores: [{ name: v, unit: x, direction: higher, regex: 'v=(\\d+)' }]
${extra}`,
  );
  return file;
}

function stateTmpfs(): string {
  const m = mountTmpfs('2m', 'by-state-e2e-');
  mounts.push(m);
  return m.dir;
}

/** The integrity check and the runs' statuses, as a fresh reader sees them. */
function inspect(state: string) {
  const db = new Database(path.join(state, 'benchyard.db'), { readonly: true });
  try {
    return {
      integrity: db.pragma('integrity_check', { simple: true }) as string,
      runs: (db.prepare('SELECT id, status FROM runs').all() as { id: string; status: string }[]).map(
        (r) => r.status,
      ),
      runEntries: db.prepare("SELECT session, status FROM ledger_entries WHERE kind = 'run'").all() as {
        session: string;
        status: string;
      }[],
    };
  } finally {
    db.close();
  }
}

/** Exit 3 and a message, never a crash: no stack, no `internal error`. */
function expectInfrastructureExit(res: CliResult) {
  expect(res.code, res.stderr).toBe(3);
  expect(res.stderr).not.toMatch(/internal error|SqliteError|^\s+at /m);
}

describe('a failing state folder', () => {
  it('a 2 MiB tmpfs as state, filled by the run: exit 3, the run marked error, the database intact', async () => {
    const state = stateTmpfs();
    // 4000 metric lines per repetition: the disk is full within the second repetition.
    const file = matrix(
      'flood',
      'i=0; while [ $i -lt 4000 ]; do echo "@benchyard metric=m$((i % 50)) value=$i"; i=$((i+1)); done; sleep 1; echo v=1',
    );
    const res = await cli(['run', file, '--state', state], { cwd: work });
    expectInfrastructureExit(res);
    expect(res.stderr).toMatch(
      new RegExp(`error: \\w[\\w ]+ in ${state}/benchyard\\.db failed: the disk is full \\(SQLITE_FULL\\)`),
    );
    expect(res.stderr).toMatch(/run \S+ stopped; it is marked 'error'/);
    expect(res.stderr).toMatch(/Free space on the disk under /);
    expect(inspect(state)).toMatchObject({
      integrity: 'ok',
      runs: ['error'],
      runEntries: [{ status: 'released' }],
    });
  }, 120_000);

  it('an artifact that fills the disk: exit 3 naming it, no half file kept, the run marked error', async () => {
    const state = stateTmpfs();
    const file = matrix(
      'big-artifact',
      'head -c 3145728 /dev/urandom > /tmp/big.bin; echo v=1',
      '      artifacts: [/tmp/big.bin]\n',
    );
    const res = await cli(['run', file, '--state', state], { cwd: work });
    expectInfrastructureExit(res);
    expect(res.stderr).toMatch(
      /error: keeping artifact \/tmp\/big\.bin at \S+\/tmp\/big\.bin failed: the disk is full \(ENOSPC\)/,
    );
    expect(res.stderr).toMatch(/marked 'error'/);
    expect(inspect(state)).toMatchObject({ integrity: 'ok', runs: ['error'] });
    const kept = readdirSync(path.join(state, 'artifacts'), { recursive: true, withFileTypes: true }).filter(
      (e) => e.isFile(),
    );
    expect(kept).toEqual([]);
  }, 120_000);

  it('a read-only state folder: exit 3 at once, saying so; the database untouched', async () => {
    const m = mountTmpfs('2m', 'by-state-e2e-');
    mounts.push(m);
    // A state folder as a run leaves it: the store and the ledger.
    const store = new SqliteStore(m.dir);
    await store.close();
    new SqliteLedger(m.dir, 'before').dispose();
    m.remount({ rw: false });
    const t0 = Date.now();
    const res = await cli(['run', matrix('ro', 'echo v=1'), '--state', m.dir], { cwd: work });
    expectInfrastructureExit(res);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(res.stderr).toMatch(
      /error: opening the store \S+\/benchyard\.db failed: it cannot be opened: \S+ is on a read-only file system \(SQLITE_CANTOPEN\)/,
    );
    m.remount({ rw: true });
    expect(inspect(m.dir)).toMatchObject({ integrity: 'ok', runs: [] });
  }, 60_000);

  it("a state file locked past the busy timeout: exit 3, the run reads 'running' until gc marks it cancelled", async () => {
    const state = mkdtempSync(path.join(work, 'locked-'));
    const file = matrix('locked', 'sleep 8; echo v=1');
    const run = startCli(['run', file, '--state', state], work);
    const db = path.join(state, 'benchyard.db');
    // Once the run is stored and running, another process takes the write lock and keeps it.
    await until(
      async () => {
        if (!existsSync(db)) return undefined;
        const r = new Database(db, { readonly: true });
        try {
          return r.prepare("SELECT 1 FROM runs WHERE status = 'running'").get() ? true : undefined;
        } catch {
          return undefined;
        } finally {
          r.close();
        }
      },
      60_000,
      'the run to be stored',
    );
    holder = spawn(
      process.execPath,
      [
        '-e',
        `const d = new (require('better-sqlite3'))(${JSON.stringify(db)});
         d.exec('BEGIN EXCLUSIVE'); d.exec("UPDATE runs SET name = name"); console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => holder!.stdout!.once('data', resolve));
    const code = await run.exited;
    const { stderr } = run.out();
    expectInfrastructureExit({ code: code ?? -1, stdout: '', stderr });
    expect(stderr).toMatch(
      new RegExp(
        `in ${state}/benchyard\\.db failed: another process held it locked for more than 5 s \\(SQLITE_BUSY\\)`,
      ),
    );
    expect(stderr).toContain(
      `it shows as 'running' until \`benchyard gc --state ${state}\` marks it cancelled`,
    );
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder!.once('exit', resolve));

    const before = inspect(state);
    expect(before).toMatchObject({ integrity: 'ok', runs: ['running'], runEntries: [{ status: 'active' }] });
    const gc = await cli(['gc', '--state', state, '--session', before.runEntries[0]!.session], { cwd: work });
    expect(gc.code, gc.stderr + gc.stdout).toBe(0);
    expect(gc.stdout).toMatch(/marked cancelled \(its controller is gone\)/);
    expect(inspect(state)).toMatchObject({ integrity: 'ok', runs: ['cancelled'] });
  }, 120_000);
});

describe('a throw nobody awaits', () => {
  it('ends benchyard with exit 3 and the error, never the exit 1 that means a failed benchmark', async () => {
    // A module loaded before benchyard that throws from a timer, as the store's sample
    // writes did from the sampler's tick.
    const boom = path.join(work, 'boom.mjs');
    writeFileSync(boom, "setTimeout(() => { throw new Error('thrown from a timer'); }, 300);\n");
    const res = await cli(['serve', '--port', '0', '--state', path.join(work, 'serve-state')], {
      cwd: work,
      env: { NODE_OPTIONS: `--import=${boom}` },
    });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/internal error: thrown from a timer/);
  }, 60_000);
});
