/**
 * The SoftLayer fake (test/helpers/softlayer-fake.ts) against what SLDN documents, and its
 * switchable quirks of the real service, so the provider tests stand on a fake that does
 * what the API does rather than what the adapter expects.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_NOT_FOUND, type SoftlayerFake, type SoftlayerFakeOptions } from '../helpers/softlayer-fake.js';
import { restOf, startWorld, type World } from '../helpers/softlayer-harness.js';

let w: World;
let fake: SoftlayerFake;

async function setup(opts: SoftlayerFakeOptions = {}) {
  w = await startWorld(opts);
  fake = w.fake;
}
const auth = (key?: string) => restOf(w).auth(key);
const get = (pathAndQuery: string) => restOf(w).get(pathAndQuery);
const post = (pathAndQuery: string, template: Record<string, unknown>) =>
  restOf(w).post(pathAndQuery, template);

beforeEach(async () => setup());
afterEach(async () => fake.close());

describe('SoftLayer fake: the REST API as documented', () => {
  it('serves both URL styles, masks, filters and result limits', { timeout: 10_000 }, async () => {
    await fake.close();
    await setup({ provisioning: { polls: 100 } });
    // softlayer-go style: POST to the service = createObject; GET by id = getObject.
    const res = await fetch(`${fake.url}SoftLayer_Virtual_Guest.json`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        parameters: [
          {
            hostname: 'h1',
            domain: 'x.com',
            datacenter: { name: 'dal10' },
            hourlyBillingFlag: true,
            startCpus: 1,
            maxMemory: 1024,
            localDiskFlag: true,
            operatingSystemReferenceCode: 'UBUNTU_LATEST',
          },
        ],
      }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: number; globalIdentifier: string };
    expect(res.headers.get('location')).toBe(`${fake.url}SoftLayer_Virtual_Guest/${created.id}/getObject`);

    const plain = await get(`SoftLayer_Virtual_Guest/${created.id}.json`);
    expect(plain).toMatchObject({ id: created.id, hostname: 'h1', fullyQualifiedDomainName: 'h1.x.com' });
    expect(plain).not.toHaveProperty('datacenter'); // relational: only when masked
    expect(plain).not.toHaveProperty('provisionDate');

    // softlayer-python style, without .json, mask[...] and the short forms.
    const masked = await get(
      `SoftLayer_Virtual_Guest/${created.id}/getObject?objectMask=mask[id,datacenter[name],activeTransaction[transactionStatus[name]],primaryIpAddress]`,
    );
    expect(Object.keys(masked).sort()).toEqual(['activeTransaction', 'datacenter', 'id']); // no IP yet: left out, not null
    expect(masked.datacenter).toEqual({ name: 'dal10' });
    expect(
      await get(`SoftLayer_Virtual_Guest/${created.id}/getObject.json?objectMask=id;datacenter.name`),
    ).toEqual({
      id: created.id,
      datacenter: { name: 'dal10' },
    });
    expect(
      await get(
        `SoftLayer_Virtual_Guest/${created.id}/getObject.json?objectMask=${encodeURIComponent('mask.id,mask.datacenter.name')}`,
      ),
    ).toEqual({
      id: created.id,
      datacenter: { name: 'dal10' },
    });
    const bad = await fetch(
      `${fake.url}SoftLayer_Virtual_Guest/${created.id}/getObject.json?objectMask=mask[nope]`,
      { headers: auth() },
    );
    expect(bad.status).toBe(500);
    expect(await bad.json()).toEqual({
      error: "Property 'nope' not valid for 'SoftLayer_Virtual_Guest'.",
      code: 'SoftLayer_Exception_Public',
    });

    // Relational property names without "get" (REST article "Rest Url Tricks"), filters, limits.
    const filter = encodeURIComponent(JSON.stringify({ virtualGuests: { hostname: { operation: '^= h' } } }));
    const page = await fetch(
      `${fake.url}SoftLayer_Account/VirtualGuests.json?objectFilter=${filter}&resultLimit=0,1&objectMask=mask[id]`,
      { headers: auth() },
    );
    expect(page.headers.get('softlayer-total-items')).toBe('1');
    expect(await page.json()).toEqual([{ id: created.id }]);

    // Parameters sent with GET are ignored by the API.
    const getTags = await fetch(`${fake.url}SoftLayer_Virtual_Guest/${created.id}/setTags.json`, {
      headers: auth(),
    });
    expect(getTags.status).toBe(500);

    // Wrong credentials: 401 with the documented body.
    const denied = await fetch(`${fake.url}SoftLayer_Account/getVirtualGuests.json`, {
      headers: auth('wrong'),
    });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: 'Access Denied. ', code: 'SoftLayer_Exception_Public' });

    // DELETE without a method is deleteObject; with one it is 404 (softlayer-python issue #962).
    expect(
      (
        await fetch(`${fake.url}SoftLayer_Virtual_Guest/${created.id}/deleteObject.json`, {
          method: 'DELETE',
          headers: auth(),
        })
      ).status,
    ).toBe(404);
    const del = await fetch(`${fake.url}SoftLayer_Virtual_Guest/${created.id}.json`, {
      method: 'DELETE',
      headers: auth(),
    });
    expect(await del.json()).toBe(true);
    await get(`SoftLayer_Virtual_Guest/${created.id}.json`); // the reclaim transaction runs
    const gone = await fetch(`${fake.url}SoftLayer_Virtual_Guest/${created.id}.json`, { headers: auth() });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({
      error: `Unable to find object with id of '${created.id}'.`,
      code: 'SoftLayer_Exception_ObjectNotFound',
    });
  });

  it(
    'answers hardware orders with id null and lets them be polled by globalIdentifier',
    { timeout: 10_000 },
    async () => {
      const order = await post('SoftLayer_Hardware/createObject', {
        hostname: 'bm1',
        domain: 'x.com',
        datacenter: { name: 'dal10' },
        hourlyBillingFlag: true,
        fixedConfigurationPreset: { keyName: 'S1270_8GB_2X1TBSATA_NORAID' },
        operatingSystemReferenceCode: 'UBUNTU_22_64',
      });
      expect(order.id).toBeNull();
      const byGuid = await get(
        `SoftLayer_Hardware/${order.globalIdentifier}/getObject.json?objectMask=mask[id,provisionDate,globalIdentifier]`,
      );
      expect(byGuid).toEqual({ id: null, provisionDate: null, globalIdentifier: order.globalIdentifier }); // local: null
      const typed = await get(
        `SoftLayer_Account/getHardware.json?objectMask=${encodeURIComponent('[mask[id,hostname],mask(SoftLayer_Hardware_Server)[activeTransaction[id,transactionStatus[name]]]]')}`,
      );
      expect(typed).toEqual([
        {
          id: expect.any(Number),
          hostname: 'bm1',
          activeTransaction: { id: expect.any(Number), transactionStatus: { name: 'HARDWARE_ASSIGN' } },
        },
      ]);
      // activeTransaction is a SoftLayer_Hardware_Server property: untyped, it is refused.
      const untyped = await fetch(
        `${fake.url}SoftLayer_Account/getHardware.json?objectMask=mask[activeTransaction]`,
        { headers: auth() },
      );
      expect(untyped.status).toBe(500);
    },
  );
});

describe('SoftLayer fake: quirks of the real service', () => {
  const guest = (hostname: string) => ({
    hostname,
    domain: 'x.com',
    datacenter: { name: 'dal10' },
    hourlyBillingFlag: true,
    supplementalCreateObjectOptions: { flavorKeyName: 'B1_2X4X25' },
    operatingSystemReferenceCode: 'UBUNTU_22_64',
  });
  const listed = async (filter: unknown) =>
    (await get(
      `SoftLayer_Account/getVirtualGuests.json?objectMask=mask[hostname]&objectFilter=${encodeURIComponent(JSON.stringify(filter))}`,
    )) as unknown as { hostname: string }[];

  it('ignoreFilters: a filtered list answers with every machine, until switched off', async () => {
    fake.seed({ hostname: 'prod-db-1', domain: 'example.com' });
    fake.seed({ hostname: 'by-0123456789ab', domain: 'benchyard.local' });
    const byName = { virtualGuests: { hostname: { operation: '^= by-' } } };
    expect((await listed(byName)).map((m) => m.hostname)).toEqual(['by-0123456789ab']);
    fake.quirks.ignoreFilters = true;
    expect((await listed(byName)).map((m) => m.hostname)).toEqual(['prod-db-1', 'by-0123456789ab']);
    fake.quirks.ignoreFilters = false;
    expect((await listed(byName)).map((m) => m.hostname)).toEqual(['by-0123456789ab']);
  });

  it('lowerCaseTags: tags come back in lower case', async () => {
    await fake.close();
    await setup({ quirks: { lowerCaseTags: true } });
    const { id } = await post('SoftLayer_Virtual_Guest.json', guest('h1'));
    const res = await fetch(`${fake.url}SoftLayer_Virtual_Guest/${id}/setTags.json`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ parameters: ['benchyard:session:Nightly-Run-42,Team:QA'] }),
    });
    expect(await res.json()).toBe(true);
    const tagged = await get(
      `SoftLayer_Virtual_Guest/${id}/getObject.json?objectMask=mask[tagReferences[tag[name]]]`,
    );
    expect((tagged.tagReferences as { tag: { name: string } }[]).map((r) => r.tag.name)).toEqual([
      'benchyard:session:nightly-run-42',
      'team:qa',
    ]);
    expect(fake.seed({ hostname: 'w', domain: 'x.com', tags: ['Owner:Ops'] }).tags).toEqual(['owner:ops']);
  });

  it(
    'lingerAfterCancelMs: a cancelled guest stays visible, without its billing item, for that long',
    { timeout: 10_000 },
    async () => {
      await fake.close();
      await setup({ quirks: { lingerAfterCancelMs: 300 } });
      const { id } = await post('SoftLayer_Virtual_Guest.json', guest('h1'));
      const cancelledAt = Date.now(); // before the call: the fake starts the clock when it handles it
      const del = await fetch(`${fake.url}SoftLayer_Virtual_Guest/${id}/deleteObject.json`, {
        headers: auth(),
      });
      expect(await del.json()).toBe(true);
      const seen: unknown[] = [];
      for (;;) {
        // The list first: a guest once gone never comes back, so getObject would then answer 404.
        const inList = (await listed({})).map((m) => m.hostname);
        const res = await fetch(
          `${fake.url}SoftLayer_Virtual_Guest/${id}/getObject.json?objectMask=mask[id,billingItem[id]]`,
          { headers: auth() },
        );
        if (res.status === 404) {
          expect(await res.json()).toMatchObject({ code: 'SoftLayer_Exception_ObjectNotFound' });
          break;
        }
        seen.push(await res.json());
        expect(inList).toEqual(['h1']); // still in the account's list
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(300);
      expect(seen.length).toBeGreaterThan(1);
      expect(seen).toEqual(seen.map(() => ({ id }))); // visible, but no billing item
    },
  );

  it('injectRaw: a proxy answers 404 with an HTML page, and the call is not carried out', async () => {
    const { id } = await post('SoftLayer_Virtual_Guest.json', guest('h1'));
    fake.injectRaw('getObject', PROXY_NOT_FOUND);
    const res = await fetch(`${fake.url}SoftLayer_Virtual_Guest/${id}/getObject.json`, { headers: auth() });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toContain('<h1>404 Not Found</h1>');
    expect(await get(`SoftLayer_Virtual_Guest/${id}/getObject.json`)).toMatchObject({ id, hostname: 'h1' });
  });
});
