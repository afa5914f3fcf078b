/**
 * The embedded state file (`<state>/benchyard.db`) as the ledger and the pools open it:
 * WAL, every write durable before it returns (`synchronous = FULL`: a ledger entry must be
 * on disk before the create call it precedes), and a busy timeout for a second process
 * (`pool add` from another shell while a run holds the file). A file that cannot be opened
 * or written (disk full, read-only, locked past the timeout) is an InfrastructureError
 * naming it (`stateFault`), never a raw SqliteError.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BenchyardError, InputError, STATE_BUSY_TIMEOUT_MS, stateFault } from '../core/index.js';

export const STATE_DB_FILE = 'benchyard.db';

/** Opens (creating where needed) the state file and applies `schema` (idempotent DDL). */
export function openStateDb(stateDir: string, what: string, schema: string): Database.Database {
  const file = path.join(stateDir, STATE_DB_FILE);
  try {
    mkdirSync(stateDir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST')
      throw new InputError(`cannot open the ${what}: '${stateDir}' is not a folder`, {}, { cause: err });
    throw stateFault(`opening the ${what} in`, file, err);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    // The busy timeout first: the switch to WAL of a new file also waits for another process.
    db.pragma(`busy_timeout = ${STATE_BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(schema);
    return db;
  } catch (err) {
    db?.close();
    throw stateFault(`opening the ${what} in`, file, err);
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
