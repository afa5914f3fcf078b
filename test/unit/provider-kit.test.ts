// The ledger sequence every provider writes through (src/core/provider-kit.ts), against an
// in-memory ledger that logs each write: the intent is on record before the create call, an
// answer makes the entry active, a provable "not created" closes it, anything else leaves it
// open for the provider to settle and for gc, and a closed entry is never written again.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  recordHeld,
  recordIntent,
  trackEntry,
  type Ledger,
  type LedgerEntry,
  type LedgerIntent,
  type LedgerPatch,
  type TrackedEntry,
} from '../../src/core/index.js';

type Write = { op: 'intend' | 'update' | 'close'; key: string; status?: string };

class LogLedger implements Ledger {
  readonly session = 'sess-kit';
  readonly owner = 'tester@kit';
  readonly entries = new Map<string, LedgerEntry>();
  readonly writes: Write[] = [];
  /** Makes the next writes throw, as a full disk or a locked file would. */
  broken = false;
  private next = 0;

  intend(intent: LedgerIntent, expiresAt: Date): LedgerEntry {
    this.check();
    const key = `k${++this.next}`;
    const entry: LedgerEntry = {
      key,
      provider: intent.provider,
      kind: intent.kind,
      session: this.session,
      owner: this.owner,
      status: 'creating',
      createdAt: '2026-12-05T00:00:00.000Z',
      updatedAt: '2026-12-05T00:00:00.000Z',
      expiresAt: expiresAt.toISOString(),
      details: { ...intent.details },
    };
    this.entries.set(key, entry);
    this.writes.push({ op: 'intend', key });
    return entry;
  }
  update(key: string, patch: LedgerPatch): LedgerEntry {
    this.check();
    const cur = this.entries.get(key);
    if (!cur) throw new Error(`ledger: no entry '${key}'`);
    const { details, ...rest } = patch;
    const next = { ...cur, ...rest, details: { ...cur.details, ...details } };
    this.entries.set(key, next);
    this.writes.push({ op: 'update', key, ...(patch.status ? { status: patch.status } : {}) });
    return next;
  }
  close(key: string, status: 'released' | 'failed' = 'released', error?: string): void {
    this.check();
    const cur = this.entries.get(key)!;
    this.entries.set(key, { ...cur, status, ...(error ? { error } : {}) });
    this.writes.push({ op: 'close', key, status });
  }
  get(key: string) {
    return this.entries.get(key);
  }
  open() {
    return [...this.entries.values()].filter((e) => e.status !== 'released' && e.status !== 'failed');
  }
  private check() {
    if (this.broken) throw new Error('SQLITE_FULL: database or disk is full');
  }
}

const intent = { provider: 'cloud', kind: 'instance', region: 'r1', details: { type: 'big' } };
const expires = new Date('2026-12-05T06:00:00.000Z');
const refused = (err: unknown) => (String(err).includes('refused') ? `refused: ${String(err)}` : undefined);

describe('recordIntent + create: the ledger sequence around a create call', () => {
  it('writes the intent before the call, then records the answer as active', async () => {
    const ledger = new LogLedger();
    const entry = recordIntent(ledger, intent, expires);
    let seenAtCall: Write[] = [];
    const out = await entry.create(
      async () => {
        seenAtCall = [...ledger.writes];
        expect(ledger.get(entry.key)).toMatchObject({ status: 'creating', details: { type: 'big' } });
        return 'i-123';
      },
      { created: (id) => ({ resourceId: id }), notCreated: refused },
    );
    expect(out).toEqual({ created: true, answer: 'i-123' });
    expect(seenAtCall).toEqual([{ op: 'intend', key: entry.key }]);
    expect(ledger.writes.map((w) => w.status ?? w.op)).toEqual(['intend', 'active']);
    expect(ledger.get(entry.key)).toMatchObject({ status: 'active', resourceId: 'i-123' });
    expect(entry).toMatchObject({ phase: 'active', session: 'sess-kit', owner: 'tester@kit' });
    expect(entry.expiresAt).toBe(expires.toISOString());
  });

  it('an unknown outcome leaves the entry open, noted, for the provider to settle and for gc', async () => {
    const ledger = new LogLedger();
    const entry = recordIntent(ledger, intent, expires);
    const timeout = new Error('socket hang up');
    const out = await entry.create(() => Promise.reject(timeout), {
      created: () => ({}),
      notCreated: refused,
    });
    expect(out).toEqual({ created: false, outcome: 'unknown', error: timeout });
    expect(entry.phase).toBe('unknown');
    expect(ledger.open().map((e) => e.key)).toEqual([entry.key]);
    expect(ledger.get(entry.key)).toMatchObject({
      status: 'creating',
      error: expect.stringMatching(/outcome unknown: socket hang up/),
    });
    expect(ledger.writes.some((w) => w.op === 'close')).toBe(false);

    // The provider then finds it by its key and takes it down: active, releasing, released.
    entry.active({ resourceId: 'i-found' });
    entry.releasing();
    entry.released();
    expect(ledger.writes.map((w) => w.status ?? w.op)).toEqual([
      'intend',
      'update',
      'active',
      'releasing',
      'released',
    ]);
    expect(ledger.open()).toEqual([]);
  });

  it('a provable refusal closes the entry failed, with its reason and details', async () => {
    const ledger = new LogLedger();
    const entry = recordIntent(ledger, intent, expires);
    const out = await entry.create(() => Promise.reject(new Error('refused by the API')), {
      created: () => ({}),
      notCreated: (err) => ({ reason: refused(err)!, details: { order: 'not-delivered' } }),
    });
    expect(out).toMatchObject({ created: false, outcome: 'not-created' });
    expect(entry.phase).toBe('closed');
    expect(ledger.get(entry.key)).toMatchObject({
      status: 'failed',
      error: 'refused: Error: refused by the API',
      details: { type: 'big', order: 'not-delivered' },
    });
    expect(ledger.open()).toEqual([]);
  });

  it('an answer the ledger cannot record is an unknown outcome: the resource exists unrecorded', async () => {
    const ledger = new LogLedger();
    const entry = recordIntent(ledger, intent, expires);
    const out = await entry.create(
      async () => {
        ledger.broken = true;
        return 'i-orphan';
      },
      { created: (id) => ({ resourceId: id }), notCreated: refused },
    );
    expect(out).toMatchObject({ created: false, outcome: 'unknown', error: { message: /SQLITE_FULL/ } });
    expect(ledger.get(entry.key)!.status).toBe('creating'); // open: gc finds it by tag
  });

  it("a ledger that cannot close a refused entry says so (the error is the ledger's)", async () => {
    const ledger = new LogLedger();
    const entry = recordIntent(ledger, intent, expires);
    const attempt = entry.create(
      () => {
        ledger.broken = true;
        return Promise.reject(new Error('refused'));
      },
      { created: () => ({}), notCreated: refused },
    );
    await expect(attempt).rejects.toThrow(/SQLITE_FULL/);
    expect(ledger.get(entry.key)!.status).toBe('creating');
  });

  it('disposed without an outcome: left open with a note; with one: nothing more is written', () => {
    const ledger = new LogLedger();
    {
      using _forgotten = recordIntent(ledger, intent, expires);
    }
    const [forgotten] = ledger.open();
    expect(forgotten).toMatchObject({
      status: 'creating',
      error: expect.stringMatching(/without an outcome/),
    });

    let kept: TrackedEntry;
    {
      using entry = recordIntent(ledger, intent, expires);
      entry.active({ resourceId: 'i-1' });
      kept = entry;
    }
    expect(ledger.writes.filter((w) => w.key === kept.key).map((w) => w.status ?? w.op)).toEqual([
      'intend',
      'active',
    ]);

    // A note is best effort: disposal never throws, and the entry stays open as it was.
    const unnoted = recordIntent(ledger, intent, expires);
    ledger.broken = true;
    expect(() => unnoted[Symbol.dispose]()).not.toThrow();
    expect(ledger.get(unnoted.key)).toMatchObject({ status: 'creating' });
    expect(ledger.get(unnoted.key)).not.toHaveProperty('error');
  });
});

describe('closing is idempotent; a closed entry is never written again', () => {
  it('released twice closes once; abandon, note, active and releasing after it do nothing', () => {
    const ledger = new LogLedger();
    const entry = recordHeld(ledger, intent, expires, { resourceId: 'host-1' });
    entry.released();
    entry.released();
    entry.abandon('too late');
    entry.note({ error: 'ignored' });
    entry.active();
    entry.releasing();
    expect(ledger.writes.map((w) => w.status ?? w.op)).toEqual(['intend', 'active', 'released']);
    expect(ledger.get(entry.key)).toMatchObject({ status: 'released', resourceId: 'host-1' });
    expect(ledger.get(entry.key)).not.toHaveProperty('error');
  });

  it('trackEntry: an entry closed elsewhere (gc, another handle) comes back closed and stays so', () => {
    const ledger = new LogLedger();
    const first = recordHeld(ledger, intent, expires, {});
    const second = trackEntry(ledger, first.key)!;
    expect(second.phase).toBe('active');
    first.abandon('gone at the provider');
    const late = trackEntry(ledger, first.key)!;
    expect(late.phase).toBe('closed');
    const before = ledger.writes.length;
    late.releasing();
    late.released();
    expect(ledger.writes.length).toBe(before);
    expect(ledger.get(first.key)!.status).toBe('failed');
    expect(trackEntry(ledger, 'no-such-key')).toBeUndefined();
  });

  it('whatever the steps, at most one close reaches the ledger and nothing after it', () => {
    const step = fc.constantFrom(
      'active',
      'note',
      'releasing',
      'released',
      'abandon',
      'track',
    ) as fc.Arbitrary<'active' | 'note' | 'releasing' | 'released' | 'abandon' | 'track'>;
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), (steps) => {
        const ledger = new LogLedger();
        let entry = recordIntent(ledger, intent, expires);
        for (const s of steps) {
          if (s === 'track') entry = trackEntry(ledger, entry.key)!;
          else if (s === 'note') entry.note({ zone: 'z1' });
          else if (s === 'abandon') entry.abandon('refused');
          else entry[s]();
        }
        const closes = ledger.writes.map((w, i) => [w, i] as const).filter(([w]) => w.op === 'close');
        expect(closes.length).toBeLessThanOrEqual(1);
        if (closes[0]) expect(closes[0][1]).toBe(ledger.writes.length - 1);
        expect(entry.phase === 'closed').toBe(closes.length === 1);
      }),
    );
  });
});
