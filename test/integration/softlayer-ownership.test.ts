/**
 * Proof of ownership at SoftLayer: with foreign machines in the account, teardown, `gc`'s
 * discovery and destroy (as `gc`, `gc --all` and `gc --session` use them) and `absent` touch
 * only benchyard's own machines, whether the API applies filters and keeps the case of tags
 * or not (the fake's quirks, test/helpers/softlayer-fake.ts). Afterwards every foreign
 * machine is still there, with its billing item, and no cancel call ever named it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OwnershipError, type ResourceRef } from '../../src/core/index.js';
import {
  PROXY_NOT_FOUND,
  SL_ERRORS,
  type FakeMachine,
  type SoftlayerQuirks,
} from '../helpers/softlayer-fake.js';
import { MemoryLedger, restOf, startWorld, type World } from '../helpers/softlayer-harness.js';

const SESSION = 'Nightly-Run-42';
const MODES: { name: string; quirks: Partial<SoftlayerQuirks> }[] = [
  { name: 'an API that applies filters and keeps tag case', quirks: {} },
  {
    name: 'an API that ignores filters, lower-cases tags and shows cancelled machines for a while',
    quirks: { ignoreFilters: true, lowerCaseTags: true, lingerAfterCancelMs: 150 },
  },
];

let w: World;
afterEach(async () => w.fake.close());

/** Machines of other people (and look-alikes), put in the account before benchyard's. */
function seedForeign(): FakeMachine[] {
  const { seed } = w.fake;
  const past = '2020-01-01T00:00:00.000Z';
  return [
    seed({ hostname: 'prod-db-1', domain: 'example.com', tags: ['team:payments'] }),
    // Named like benchyard's, but no ledger here has it and it carries no benchyard tag.
    seed({ hostname: 'by-zzzz', domain: 'benchyard.local' }),
    seed({ hostname: 'by-0123456789ab', domain: 'benchyard.local' }),
    // Tags like benchyard's (this session, expired), another ledger key, not a benchyard name.
    seed({
      hostname: 'web-2',
      domain: 'example.com',
      tags: [
        `benchyard:session:${SESSION}`,
        'benchyard:ledger-key:fedcba987654',
        `benchyard:expires-at:${past}`,
      ],
    }),
    seed({ type: 'SoftLayer_Hardware', hostname: 'prod-bm-1', domain: 'example.com' }),
    // A benchyard name whose tags name another entry.
    seed({
      type: 'SoftLayer_Hardware',
      hostname: 'by-aaaaaaaaaaaa',
      domain: 'benchyard.local',
      tags: [`benchyard:session:${SESSION}`, 'benchyard:ledger-key:bbbbbbbbbbbb'],
    }),
  ];
}

/** The same host name as one of ours, in another domain or tagged for another entry. */
function seedImpostors(key: string): FakeMachine[] {
  return [
    w.fake.seed({ hostname: `by-${key}`, domain: 'example.com' }),
    w.fake.seed({
      hostname: `by-${key}`,
      domain: 'benchyard.local',
      tags: [`benchyard:session:${SESSION}`, 'benchyard:ledger-key:cccccccccccc'],
    }),
  ];
}

/** Still there, billed, and never named by a call that cancels or tags (`setTags`: not ours to touch). */
function expectUntouched(
  machines: readonly FakeMachine[],
  methods = ['deleteObject', 'cancelItem', 'setTags'],
) {
  const cancels = w.fake.requests.filter((r) => methods.includes(r.method));
  for (const m of machines) {
    expect(m.phase, `${m.hostname}.${m.domain}`).toBe('ready');
    expect(m.billingItemId, `${m.hostname}.${m.domain}`).toBeDefined();
    expect(cancels.filter((r) => r.id === String(m.id) || r.id === String(m.billingItemId))).toEqual([]);
  }
}

const signal = () => AbortSignal.timeout(10_000);
const idOf = (machineId: string) => machineId.split(':')[1]!;
const byHost = (hostname: string) => w.fake.state.machines.find((m) => m.hostname === hostname)!;

describe.each(MODES)('SoftLayer, $name', ({ quirks }) => {
  const start = async () => {
    w = await startWorld({ quirks, session: SESSION });
  };

  it('release cancels its own guest and bare metal, nothing else', { timeout: 20_000 }, async () => {
    await start();
    const foreign = seedForeign();
    const p = w.provider();
    const guest = await p.acquire(w.target(), signal());
    const metal = await p.acquire(
      w.target({ kind: 'hardware', flavor: undefined, preset: 'S1270_8GB_2X1TBSATA_NORAID' }),
      signal(),
    );
    const impostors = [...w.ledger.entries.keys()].flatMap(seedImpostors);
    await p.release(guest, signal());
    await p.release(metal, signal());
    expect(w.fake.state.find(idOf(guest.id))).toBeUndefined(); // gone
    expect(w.fake.state.find(idOf(metal.id))!.billingItemId).toBeUndefined(); // cancelled, being reclaimed
    expect([...w.ledger.entries.values()].map((e) => e.status)).toEqual(['released', 'released']);
    expectUntouched([...foreign, ...impostors]);
  });

  it(
    'after a lost createObject reply, the clean-up cancels its own guest, not whatever the filter lets through',
    { timeout: 20_000 },
    async () => {
      await start();
      const foreign = seedForeign();
      w.fake.inject('createObject', { status: 502, error: 'Bad Gateway' }, 1, { afterCall: true });
      await expect(w.provider().acquire(w.target(), signal())).rejects.toThrow(/ordering/);
      const [entry] = w.ledger.entries.values();
      expect(entry!.status).toBe('released');
      expect(byHost(`by-${entry!.key}`).phase).toBe('gone');
      expectUntouched(foreign);
    },
  );

  it(
    'gc --session, gc --all and gc: discovery returns only provable machines; destroying them leaves the rest',
    { timeout: 30_000 },
    async () => {
      await start();
      const foreign = seedForeign();
      const dead = w.provider(); // a controller that dies without releasing
      const ours = [
        await dead.acquire(w.target(), signal()),
        await dead.acquire(w.target({ datacenters: ['fra02'] }), signal()),
        await dead.acquire(
          w.target({ kind: 'hardware', flavor: undefined, preset: 'S1270_8GB_2X1TBSATA_NORAID' }),
          signal(),
        ),
      ].map((m) => idOf(m.id));
      // Another benchyard state (another ledger, another session) left one too.
      const elsewhere = new MemoryLedger(() => w.fake.requests.length, 's-elsewhere');
      const theirs = idOf((await w.provider({ ledger: elsewhere }).acquire(w.target(), signal())).id);
      const impostors = [...w.ledger.entries.keys()].flatMap(seedImpostors);
      const untouched = [...foreign, ...impostors];

      const gc = w.provider();
      const hints = w.ledger.open().map(hintOf);
      // gc --session, spelled as the user spelled it; tags may have come back lower-cased.
      const session = await gc.discover({ session: SESSION, hints, signal: signal() });
      expect(session.map((r) => r.id).sort()).toEqual([...ours].sort());
      expect(new Set(session.map((r) => r.session))).toEqual(new Set([SESSION]));
      for (const ref of session) await gc.destroy(ref, signal());
      expectUntouched(untouched);
      expect(w.fake.state.find(theirs)).toBeDefined();

      // gc --all: benchyard's machines of any ledger, nothing else.
      const all = await gc.discover({ hints, signal: signal() });
      expect(all.filter((r) => r.state === 'active').map((r) => r.id)).toEqual([theirs]);
      expect(all.every((r) => ours.includes(r.id) || r.id === theirs)).toBe(true);
      for (const ref of all) await gc.destroy(ref, signal());
      expectUntouched(untouched);
      expect(w.fake.state.find(theirs)).toBeUndefined();

      // gc afterwards: nothing of benchyard's is left to find.
      const rest = await gc.discover({ hints, signal: signal() });
      expect(rest.filter((r) => r.state === 'active')).toEqual([]);
      expectUntouched(untouched);
      expect(w.ledger.open()).toEqual([]);
    },
  );

  it(
    "destroy of a ref that points at someone else's machine is an OwnershipError and cancels nothing",
    { timeout: 20_000 },
    async () => {
      await start();
      const foreign = seedForeign();
      const p = w.provider();
      const mine = await p.acquire(w.target(), signal());
      const [entry] = w.ledger.entries.values();
      const key = entry!.key;
      const [prodDb, byZzzz, byUnknown, web2, prodBm, byOther] = foreign as [FakeMachine, ...FakeMachine[]];
      const ref = (m: FakeMachine, o: Partial<ResourceRef>): ResourceRef => ({
        provider: 'softlayer',
        kind: m.type === 'SoftLayer_Hardware' ? 'hardware' : 'virtual-guest',
        id: String(m.id),
        details: { endpoint: w.fake.url },
        ...o,
      });
      const forged: ResourceRef[] = [
        ref(prodDb, { ledgerKey: key, session: SESSION }),
        ref(prodDb, {}), // no ledger key at all
        ref(byZzzz!, { ledgerKey: 'zzzz' }),
        ref(byUnknown!, { ledgerKey: '0123456789ab', session: SESSION }),
        ref(web2!, { ledgerKey: 'fedcba987654', session: SESSION }),
        ref(prodBm!, { ledgerKey: key }),
        ref(byOther!, { ledgerKey: 'aaaaaaaaaaaa', session: SESSION }),
        // An id this entry never had (the ledger says which one it has).
        { provider: 'softlayer', kind: 'virtual-guest', id: '999999999', ledgerKey: key, details: {} },
        // Our own guest, claimed for another session.
        { ...ref(byHost(`by-${key}`), { ledgerKey: key, session: 'someone-else' }) },
      ];
      for (const r of forged) {
        const err = await w
          .provider()
          .destroy(r, signal())
          .catch((e: unknown) => e);
        expect(err, JSON.stringify(r)).toBeInstanceOf(OwnershipError);
      }
      expectUntouched(foreign);
      expectUntouched([byHost(`by-${key}`)], ['deleteObject', 'cancelItem']); // tagged by its own acquire only
      expect(w.calls('deleteObject')).toEqual([]);
      expect(w.calls('cancelItem')).toEqual([]);
      expect(w.ledger.get(key)!.status).toBe('active'); // no refused destroy moved it along
      await p.release(mine, signal());
    },
  );

  it(
    'a 404 that is not SoftLayer\'s ObjectNotFound (a proxy\'s page, "Service does not exist") is not "gone"',
    { timeout: 20_000 },
    async () => {
      await start();
      const p = w.provider();
      const guest = await p.acquire(w.target(), signal());
      const [entry] = w.ledger.entries.values();
      for (const answer of ['proxy', 'api'] as const) {
        if (answer === 'proxy') w.fake.injectRaw('SoftLayer_Virtual_Guest::getObject', PROXY_NOT_FOUND);
        else w.fake.inject('SoftLayer_Virtual_Guest::getObject', SL_ERRORS.serviceMissing);
        await expect(p.release(guest, signal())).rejects.toThrow(/HTTP 404|Service does not exist/);
        // Nothing was proven, so nothing was cancelled and the entry is not `releasing`.
        expect(w.ledger.get(entry!.key)).toMatchObject({
          status: 'active',
          error: expect.stringMatching(/HTTP 404|Service does not exist/),
        });
        expect(w.fake.state.find(idOf(guest.id))!.billingItemId).toBeDefined();
        expect(w.calls('deleteObject')).toEqual([]);
      }
      w.fake.injectRaw('getVirtualGuests', PROXY_NOT_FOUND);
      expect(await p.absent(hintOf(w.ledger.get(entry!.key)!), signal())).toBe(false);
      await p.release(guest, signal()); // the real answer again
      expect(w.ledger.get(entry!.key)!.status).toBe('released');
    },
  );

  it(
    'absent: false while anything carries the entry (cancellation still running included), true once gone',
    { timeout: 20_000 },
    async () => {
      await start();
      seedForeign();
      const p = w.provider();
      const guest = await p.acquire(w.target(), signal());
      const [entry] = w.ledger.entries.values();
      const ref = () => hintOf(w.ledger.get(entry!.key)!);
      expect(await p.absent(ref(), signal())).toBe(false);
      const cancelledAt = Date.now(); // before the call: the fake starts the clock when it handles it
      // A cancellation someone started and nobody saw through: listed until reclaimed.
      const del = await fetch(`${w.fake.url}SoftLayer_Virtual_Guest/${idOf(guest.id)}/deleteObject.json`, {
        headers: restOf(w).auth(),
      });
      expect(del.status).toBe(200);
      expect(await p.absent(ref(), signal())).toBe(false);
      while (!(await p.absent(ref(), signal()))) expect(Date.now() - cancelledAt).toBeLessThan(5_000);
      expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(quirks.lingerAfterCancelMs ?? 0);
      expect(w.fake.state.find(idOf(guest.id))).toBeUndefined();

      // Something named after an entry counts, whoever it belongs to.
      const named = { provider: 'softlayer', kind: 'virtual-guest', id: '', ledgerKey: '0123456789ab' };
      expect(await p.absent({ ...named, details: { endpoint: w.fake.url } }, signal())).toBe(false);
    },
  );
});

function hintOf(e: {
  provider: string;
  kind: string;
  key: string;
  resourceId?: string;
  session: string;
  owner: string;
  expiresAt: string;
  details: Readonly<Record<string, unknown>>;
}): ResourceRef {
  return {
    provider: e.provider,
    kind: e.kind,
    id: e.resourceId ?? '',
    session: e.session,
    owner: e.owner,
    expiresAt: e.expiresAt,
    ledgerKey: e.key,
    details: e.details,
  };
}
