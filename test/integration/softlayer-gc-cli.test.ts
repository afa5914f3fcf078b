/**
 * `benchyard gc --session`, `gc` and `gc --all`, run as a user runs them (the built CLI),
 * against the SoftLayer fake with foreign machines in the account, both with an API that
 * applies filters and keeps tag case and with one that ignores filters and lower-cases tags.
 * The ledger is written the way a controller that died would have left it. Each command
 * removes what it should, and every foreign machine (and the machine of a controller still
 * running) is still there afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../src/ledger/index.js';
import { tagString } from '../../providers/softlayer/tags.js';
import { cli } from '../helpers/cli.js';
import { startSoftlayerFake, type FakeMachine, type SoftlayerFake } from '../helpers/softlayer-fake.js';

const SESSION = 'Nightly-Run-42';
const USER = 'SL123456';

let fake: SoftlayerFake;
afterEach(async () => fake.close());

describe.each([
  { mode: 'filters applied, tag case kept', quirks: {} },
  { mode: 'filters ignored, tags lower-cased', quirks: { ignoreFilters: true, lowerCaseTags: true } },
])('benchyard gc on SoftLayer, $mode', ({ quirks }) => {
  it(
    "gc --session, gc and gc --all destroy only benchyard's machines; every foreign one is still there",
    { timeout: 240_000 },
    async () => {
      const apiKey = randomBytes(32).toString('hex');
      // Cancelled guests are gone at the first poll: the CLI polls every 10 s.
      fake = await startSoftlayerFake({ username: USER, apiKey, reclaim: { polls: 0 }, quirks });
      const dir = mkdtempSync(path.join(os.tmpdir(), 'by-sl-gc-'));
      const state = path.join(dir, '.benchyard');
      const env = { SL_USERNAME: USER, SL_API_KEY: apiKey, BENCHYARD_SESSION: 's-gc' };
      const expires = new Date(Date.now() + 3_600_000);

      /** A machine benchyard ordered for a new entry of `ledger`, tagged unless the controller died first. */
      const ordered = (ledger: SqliteLedger, o: { tagged: boolean; alive?: boolean }) => {
        const e = ledger.intend({ provider: 'softlayer', kind: 'virtual-guest', region: 'dal10' }, expires);
        const m = fake.seed({
          hostname: `by-${e.key}`,
          domain: 'benchyard.local',
          tags: o.tagged
            ? tagString({
                session: e.session,
                owner: e.owner,
                expiresAt: e.expiresAt,
                ledgerKey: e.key,
              }).split(',')
            : [],
        });
        ledger.update(e.key, {
          status: 'active',
          resourceId: String(m.id),
          details: {
            endpoint: fake.url,
            hostname: m.hostname,
            domain: m.domain,
            // A controller on another host is not known to be alive: gc may act on its entries.
            ...(o.alive ? {} : { controllerHost: 'ci-agent-that-died' }),
          },
        });
        return m;
      };
      const nightly = new SqliteLedger(state, SESSION);
      const other = new SqliteLedger(state, 's-other');
      const live = new SqliteLedger(state, 's-live');
      const a = ordered(nightly, { tagged: true });
      const b = ordered(nightly, { tagged: false });
      const c = ordered(other, { tagged: true });
      const running = ordered(live, { tagged: true, alive: true }); // this test process is its controller
      // Left by a benchyard with another state folder: tagged, not in this ledger, not expired.
      const elsewhere = fake.seed({
        hostname: 'by-5e5e5e5e5e5e',
        domain: 'benchyard.local',
        tags: tagString({
          session: 's-elsewhere',
          owner: 'ci@jenkins',
          expiresAt: expires.toISOString(),
          ledgerKey: '5e5e5e5e5e5e',
        }).split(','),
      });
      for (const l of [nightly, other, live]) l.dispose();
      const foreign = [
        fake.seed({ hostname: 'prod-db-1', domain: 'example.com' }),
        fake.seed({ hostname: 'by-zzzz', domain: 'benchyard.local' }),
        fake.seed({ hostname: 'by-0123456789ab', domain: 'benchyard.local' }),
        fake.seed({
          hostname: 'web-2',
          domain: 'example.com',
          tags: [
            `benchyard:session:${SESSION}`,
            'benchyard:ledger-key:fedcba987654',
            'benchyard:expires-at:2020-01-01T00:00:00.000Z',
          ],
        }),
        fake.seed({ hostname: `by-${a.hostname.slice(3)}`, domain: 'example.com' }), // our name, another domain
        fake.seed({ type: 'SoftLayer_Hardware', hostname: 'prod-bm-1', domain: 'example.com' }),
        fake.seed({
          type: 'SoftLayer_Hardware',
          hostname: 'by-aaaaaaaaaaaa',
          domain: 'benchyard.local',
          tags: [`benchyard:session:${SESSION}`, 'benchyard:ledger-key:bbbbbbbbbbbb'],
        }),
      ];
      const alive = (m: FakeMachine) => m.phase !== 'gone';
      const expectForeignUntouched = () => {
        for (const m of [...foreign, running]) {
          expect(alive(m) && m.billingItemId !== undefined, `${m.hostname}.${m.domain}`).toBe(true);
          expect(fake.requests.filter((r) => r.id === String(m.id) && r.method === 'deleteObject')).toEqual(
            [],
          );
        }
        expect(fake.requests.filter((r) => r.method === 'cancelItem')).toEqual([]);
      };
      const gc = async (...args: string[]) => {
        const res = await cli(['gc', ...args], { cwd: dir, env });
        expect(res.code, res.stderr + res.stdout).toBe(0);
        return res;
      };

      await gc('--session', SESSION);
      expect([a, b].map(alive)).toEqual([false, false]);
      expect([c, elsewhere].map(alive)).toEqual([true, true]);
      expectForeignUntouched();

      const plain = await gc();
      expect(alive(c)).toBe(false);
      expect(alive(elsewhere)).toBe(true);
      expect(plain.stdout).toMatch(/kept: not in this ledger and not expired/);
      expect(plain.stdout).toMatch(/kept: controller pid \d+ is running/);
      expectForeignUntouched();

      await gc('--all');
      expect(alive(elsewhere)).toBe(false);
      expectForeignUntouched();

      const check = new SqliteLedger(state, 'check');
      expect(check.open().map((e) => e.session)).toEqual(['s-live']);
      check.dispose();
    },
  );
});
