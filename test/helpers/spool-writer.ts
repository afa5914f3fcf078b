/**
 * Child process for test/integration/spool-crash.test.ts: opens the spool in `argv[2]` and
 * appends numbered batches from `argv[3]` on, as fast as it can (many appends in flight, so
 * group commit and segment rotation happen), printing each number once its append resolved,
 * i.e. once the batch is durable. Prints `ready` after opening. Runs until killed.
 *
 *   node --import tsx test/helpers/spool-writer.ts DIR FIRST [MAX_SEGMENT_BYTES]
 */
import { writeSync } from 'node:fs';
import { Spool } from '../../src/store/spool.js';

const [dir, first = '0', maxSegmentBytes = '65536'] = process.argv.slice(2);
if (!dir) throw new Error('usage: spool-writer DIR FIRST [MAX_SEGMENT_BYTES]');

/** Sizes vary (100 B to ~20 KB) so that a kill can land anywhere in a frame. */
function writerBatch(n: number): { meta: { docs: number; n: number }; body: string } {
  const pad = 'x'.repeat((n * 7919) % 20_000);
  return { meta: { docs: 1, n }, body: `{"index":{}}\n{"n":${n},"pad":"${pad}"}\n` };
}

const spool = await Spool.open(dir, { maxSegmentBytes: Number(maxSegmentBytes), groupCommitMs: 5 });
// Synchronous writes: a line the parent reads was printed after the append resolved.
writeSync(1, 'ready\n');
let next = Number(first);
async function worker(): Promise<never> {
  for (;;) {
    const n = next++;
    await spool.append(writerBatch(n));
    writeSync(1, `${n}\n`);
  }
}
await Promise.all(Array.from({ length: 32 }, worker));
