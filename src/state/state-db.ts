/**
 * The one way to open the state file, `<state>/benchyard.db`, which the store, the ledger
 * and the pools share (each on its own connection, each its own tables): WAL, a busy
 * timeout for the other processes that hold it (the shards of a run, `pool add` from
 * another shell), the durability its caller needs, and the schema brought to this
 * benchyard's version (`migrations.ts`). A file that cannot be opened or written (disk
 * full, read-only, locked past the timeout, newer than this benchyard) is an
 * InfrastructureError naming it (`stateFault`), never a raw SqliteError.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BenchyardError, InputError, STATE_BUSY_TIMEOUT_MS, stateFault } from '../core/index.js';
import { migrate } from './migrations.js';

export const STATE_DB_FILE = 'benchyard.db';

export interface StateDbOptions {
  /** What the caller keeps in the file, for messages: `store`, `ledger`, `pools`. */
  name: string;
  /**
   * `FULL`: a commit is on disk before it returns (a ledger entry must be, before the
   * create call it precedes). `NORMAL`: a commit survives the process being killed but
   * not the machine losing power, and costs no fsync (the store: samples by the thousand).
   */
  synchronous: 'FULL' | 'NORMAL';
}

/** Opens (creating where needed) `<stateDir>/benchyard.db`, migrated to the latest schema. */
export function openStateDb(stateDir: string, opts: StateDbOptions): Database.Database {
  const file = path.join(stateDir, STATE_DB_FILE);
  try {
    mkdirSync(stateDir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST')
      throw new InputError(`cannot open the ${opts.name}: '${stateDir}' is not a folder`, {}, { cause: err });
    throw stateFault('making the state folder for', file, err);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    // The busy timeout first: the switch to WAL of a new file also waits for another process.
    db.pragma(`busy_timeout = ${STATE_BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous}`);
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    throw stateFault(`opening the ${opts.name}`, file, err);
  }
}

/** Runs a write on the state file; its failure is an InfrastructureError naming the file. */
export function stateWrite<T>(db: Database.Database, doing: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    if (err instanceof BenchyardError) throw err;
    throw stateFault(doing, db.name, err);
  }
}
