/**
 * A process that opens the state file the way a run does, for tests of processes opening
 * one file at once: `node --import tsx test/helpers/state-opener.ts DIR store|ledger|pools`.
 * Prints `ready`, waits for a line on stdin (so the test starts them all together), opens
 * the file and prints the migrations it ran as JSON: `{"ran":[4,5]}`.
 */
import readline from 'node:readline';
import { SqliteLedger } from '../../src/ledger/index.js';
import { SqlitePoolStore } from '../../src/pool/index.js';
import { MIGRATIONS } from '../../src/state/index.js';
import { SqliteStore } from '../../src/store/index.js';

const [dir, what] = process.argv.slice(2) as [string, string];
const ran: number[] = [];
for (const m of MIGRATIONS) {
  const up = m.up.bind(m);
  m.up = (db) => {
    ran.push(m.version);
    up(db);
  };
}

const lines = readline.createInterface({ input: process.stdin });
console.log('ready');
await new Promise((resolve) => lines.once('line', resolve));
lines.close();
if (what === 'store') await new SqliteStore(dir).close();
else if (what === 'ledger') new SqliteLedger(dir, 'opener').dispose();
else new SqlitePoolStore(dir).dispose();
console.log(JSON.stringify({ ran }));
