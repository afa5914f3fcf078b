import { describe, expect, it } from 'vitest';
import { IDLE, WorkQueue } from '../../src/schedule/work-queue.js';

const never = new AbortController().signal;

describe('WorkQueue: the cells of one target, shared by its machines', () => {
  it('hands items out in order and ends once nothing is queued and nothing is out', async () => {
    const q = new WorkQueue(['a', 'b']);
    expect(await q.take(never)).toBe('a');
    expect(await q.take(never)).toBe('b');
    q.done();
    q.done();
    expect(await q.take(never)).toBeUndefined();
  });

  it('waits while an item is out: one given back goes to the waiting taker', async () => {
    const q = new WorkQueue(['a']);
    expect(await q.take(never)).toBe('a');
    const waiting = q.take(never);
    q.giveBack('a');
    expect(await waiting).toBe('a');
  });

  it('answers IDLE after the idle time when items are out but none comes back', async () => {
    const q = new WorkQueue(['a']);
    await q.take(never);
    const started = Date.now();
    expect(await q.take(never, 50)).toBe(IDLE);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    // The item out finishes: nothing is left, so the next take ends instead of idling.
    q.done();
    expect(await q.take(never, 50)).toBeUndefined();
  });

  it('an item given back before the idle time is taken, not IDLE', async () => {
    const q = new WorkQueue(['a']);
    await q.take(never);
    const waiting = q.take(never, 1_000);
    setTimeout(() => q.giveBack('a'), 20);
    expect(await waiting).toBe('a');
  });

  it('answers undefined at once on abort or close', async () => {
    const q = new WorkQueue(['a']);
    await q.take(never);
    const ac = new AbortController();
    const waiting = q.take(ac.signal, 10_000);
    ac.abort();
    expect(await waiting).toBeUndefined();
    const closing = q.take(never, 10_000);
    q.close();
    expect(await closing).toBeUndefined();
  });
});
