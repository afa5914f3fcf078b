/**
 * The embedded state file (`<state>/benchyard.db`) as the ledger and the pools open it:
 * WAL, every write durable before it returns (`synchronous = FULL`: a ledger entry must be
 * on disk before the create call it precedes), and a busy timeout for a second process
 * (`pool add` from another shell while a run holds the file).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../core/index.js';

export const STATE_DB_FILE = 'benchyard.db';

/** Opens (creating where needed) the state file and applies `schema` (idempotent DDL). */
export function openStateDb(stateDir: string, what: string, schema: string): Database.Database {
  let db: Database.Database;
  try {
    mkdirSync(stateDir, { recursive: true });
    db = new Database(path.join(stateDir, STATE_DB_FILE));
  } catch (err) {
    throw new InputError(
      `cannot open the ${what} in '${stateDir}': ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
  // The busy timeout first: the switch to WAL of a new file also waits for another process.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(schema);
  return db;
}
