/**
 * What SoftLayer's failures mean (providers/softlayer/errors.ts, client.ts): only the API's
 * own ObjectNotFound says an object is gone; a connection never made proves the request was
 * not delivered; a named bad-input code is the user's to fix whatever its wording says.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError, ProvisionError, silentLogger } from '../../src/core/index.js';
import { SoftlayerClient } from '../../providers/softlayer/client.js';
import {
  SoftlayerApiError,
  SoftlayerTransportError,
  classifyCreateFailure,
  isNotFound,
  neverSent,
} from '../../providers/softlayer/errors.js';
import { ManualClock } from '../helpers/manual-clock.js';

const where = {
  datacenter: 'dal10',
  instanceType: 'AC1_8X60X25',
  endpoint: 'https://api.example/rest/v3.1/',
};
const BAD_INPUT = [
  'SoftLayer_Exception_InvalidValue',
  'SoftLayer_Exception_MissingCreationProperty',
  'SoftLayer_Exception_InvalidDataLength',
  'SoftLayer_Exception_Order_InvalidData',
];

describe('SoftLayer error classification', () => {
  it('a bad-input code is an InputError even when its text speaks of limits', () => {
    const err = new SoftlayerApiError(
      'The userData value exceeds the limit of 16 KB.',
      'SoftLayer_Exception_InvalidDataLength',
      500,
      'SoftLayer_Virtual_Guest::createObject',
    );
    expect(classifyCreateFailure(err, where)).toBeInstanceOf(InputError);
    fc.assert(
      fc.property(
        fc.constantFrom(...BAD_INPUT),
        fc.string(),
        fc.constantFrom('limit', 'exceeded', 'quota', 'no capacity'),
        (code, text, word) => {
          const e = new SoftlayerApiError(
            `${text} ${word}`,
            code,
            500,
            'SoftLayer_Virtual_Guest::createObject',
          );
          expect(classifyCreateFailure(e, where)).toBeInstanceOf(InputError);
        },
      ),
    );
    // Without a bad-input code the wording still decides.
    const quota = classifyCreateFailure(
      new SoftlayerApiError('hourly limit exceeded', 'SoftLayer_Exception_Public', 500, 'x'),
      where,
    );
    expect((quota as ProvisionError).failureClass).toBe('QUOTA');
  });

  it('only a SoftLayer ObjectNotFound body means gone', () => {
    const api = (code: string | undefined, status: number) => new SoftlayerApiError('m', code, status, 'x');
    expect(isNotFound(api('SoftLayer_Exception_ObjectNotFound', 404))).toBe(true);
    expect(isNotFound(api(undefined, 404))).toBe(false); // a proxy's HTML page
    expect(isNotFound(api('SoftLayer_Exception_Public', 404))).toBe(false); // "Service does not exist"
    expect(isNotFound(new SoftlayerTransportError('m', 'x', true))).toBe(false);
  });

  it('a request is provably undelivered only when no connection was made', () => {
    const failed = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause });
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
      expect(neverSent(failed({ code })), code).toBe(true);
    for (const code of ['ECONNRESET', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'EPIPE', undefined])
      expect(neverSent(failed({ code })), String(code)).toBe(false);
    // Several addresses tried (happy eyeballs): undelivered only if every attempt was.
    const agg = (codes: string[]) =>
      Object.assign(new AggregateError(codes.map((code) => ({ code }))), { code: codes[0] });
    expect(neverSent(failed(agg(['ECONNREFUSED', 'EHOSTUNREACH'])))).toBe(true);
    expect(neverSent(failed(agg(['ECONNREFUSED', 'ETIMEDOUT'])))).toBe(false);
    expect(neverSent(new TypeError('fetch failed'))).toBe(false);
  });

  it('the client says which of its transport failures were never delivered, and reads an HTML 404 as no answer', async () => {
    const client = (fetchFn: typeof fetch) =>
      new SoftlayerClient({
        endpoint: where.endpoint,
        username: 'u',
        apiKey: 'k'.repeat(64),
        fetch: fetchFn,
        clock: new ManualClock(0),
        logger: silentLogger,
        maxAttempts: 1,
      });
    const throwing =
      (code: string): typeof fetch =>
      async () => {
        throw Object.assign(new TypeError('fetch failed'), {
          cause: Object.assign(new Error(code), { code }),
        });
      };
    const call = (c: SoftlayerClient) =>
      c
        .call('SoftLayer_Virtual_Guest', 'createObject', { params: [{}], signal: AbortSignal.timeout(1_000) })
        .catch((e: unknown) => e);
    const refused = await call(client(throwing('ENOTFOUND')));
    expect(refused).toBeInstanceOf(SoftlayerTransportError);
    expect((refused as SoftlayerTransportError).notDelivered).toBe(true);
    expect((refused as Error).message).toMatch(/ENOTFOUND/);
    expect(((await call(client(throwing('ECONNRESET')))) as SoftlayerTransportError).notDelivered).toBe(
      false,
    );

    const html = await call(
      client(
        async () =>
          new Response('<html><h1>404 Not Found</h1></html>', {
            status: 404,
            headers: { 'content-type': 'text/html' },
          }),
      ),
    );
    expect(html).toBeInstanceOf(SoftlayerApiError);
    expect(html).toMatchObject({ status: 404, code: undefined });
    expect(isNotFound(html)).toBe(false);
  });
});
