/**
 * SoftLayer API errors and what they mean for provisioning.
 *
 * The REST endpoint answers a failed call with `{"error": "...", "code": "SoftLayer_Exception_..."}`
 * (https://sldn.softlayer.com/article/rest/#rest-errors,
 * https://sldn.softlayer.com/article/exception-handling-softlayer-api/). Status codes seen in
 * practice: 401 for a bad user name / API key (REST article, "Authentication Errors"), 404 for
 * `SoftLayer_Exception_ObjectNotFound` (softlayer-python issue #1259), 500 for everything
 * else, rate limiting included (softlayer-go issue #75), with 2xx + an error body as an edge
 * case (softlayer-go `session/rest.go`, `findResponseError`).
 *
 * A 404 alone proves nothing: a proxy or load balancer answers 404 with an HTML page, and the
 * API itself answers 404 `SoftLayer_Exception_Public` "Service does not exist" for a wrong
 * URL (softlayer-python issue #947). Only the API's own ObjectNotFound says an object is gone.
 */
import { InfrastructureError, InputError, ProvisionError, errorMessage } from '../../src/core/index.js';

/** A call the SoftLayer API answered with an exception. Never carries credentials. */
export class SoftlayerApiError extends InfrastructureError {
  constructor(
    message: string,
    /** `SoftLayer_Exception_…`, when the reply named one. */
    readonly code: string | undefined,
    /** HTTP status of the reply (0: no reply). */
    readonly status: number,
    /** `Service::method` that failed. */
    readonly call: string,
    options?: { cause?: unknown },
  ) {
    super(message, { code, status, call }, options);
  }
}

/**
 * The request did not get an answer (connection reset, DNS, timeout). It may have reached the
 * API, unless `notDelivered`: the connection itself was never made, so no byte of the request
 * left this machine.
 */
export class SoftlayerTransportError extends InfrastructureError {
  constructor(
    message: string,
    readonly call: string,
    readonly notDelivered: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, { call, notDelivered }, options);
  }
}

/**
 * Failures before a connection exists: the name did not resolve (`ENOTFOUND`, `EAI_AGAIN`),
 * or the address refused or could not be reached (`ECONNREFUSED`, `EHOSTUNREACH`,
 * `ENETUNREACH`, all from `connect()`). A reset or a timeout may come after the request was
 * sent, so they are not among them.
 */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether a fetch failure proves the request was never sent. Node's fetch (undici) throws
 * `TypeError('fetch failed')` with the socket error as `cause`; with several addresses to
 * try, the cause is an AggregateError whose `errors` each failed to connect.
 */
export function neverSent(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause ?? err;
  const codes = (e: unknown): string[] => {
    const { code, errors } = (e ?? {}) as { code?: unknown; errors?: unknown };
    if (Array.isArray(errors) && errors.length) return errors.flatMap(codes);
    return typeof code === 'string' ? [code] : [''];
  };
  const found = codes(cause);
  return found.length > 0 && found.every((c) => NOT_CONNECTED.has(c));
}

export const RATE_LIMITED = 'SoftLayer_Exception_WebService_RateLimitExceeded';
export const NOT_FOUND = 'SoftLayer_Exception_ObjectNotFound';

/** The API itself said the object does not exist (a SoftLayer error body naming ObjectNotFound). */
export function isNotFound(err: unknown): boolean {
  return err instanceof SoftlayerApiError && err.code === NOT_FOUND;
}

/** Rejected credentials: HTTP 401, or the token exceptions jumpgate maps to 401. */
export function isAuthFailure(err: unknown): boolean {
  if (!(err instanceof SoftlayerApiError)) return false;
  return (
    err.status === 401 ||
    err.code === 'SoftLayer_Exception_InvalidLegacyToken' ||
    /^(Invalid API token|Access Denied)/i.test(err.message)
  );
}

/**
 * Whether the API definitely refused the call (an exception reply), as opposed to a
 * failure where the request may have been carried out (no reply, gateway errors).
 */
export function isDefiniteRefusal(err: unknown): boolean {
  return err instanceof SoftlayerApiError && err.code !== undefined;
}

/**
 * Capacity: the datacenter cannot place the machine now, another one may.
 * `Virtual_Host_Pool_InsufficientResources` ("Could not place order. There are insufficient
 * resources behind router …", IBM Cloud Kubernetes Service troubleshooting, HTTP 500) was
 * announced to be renamed `…_InsufficientCapacity` (softlayer-python issue #919).
 * `Order_InvalidLocation` (the account cannot order in this datacenter) is datacenter-bound
 * too, so it also moves on. The message patterns catch capacity errors under the generic
 * `SoftLayer_Exception_Public` code; they are not documented verbatim.
 */
const CAPACITY_CODES =
  /^SoftLayer_Exception_(Virtual_Host_Pool_Insufficient\w*|\w*InsufficientCapacity|Order_InvalidLocation|Order_Item_Unavailable|Hardware_\w*Unavailable)$/;
const CAPACITY_TEXT =
  /insufficient (resources|capacity)|no (available )?capacity|not enough capacity|out of stock|could not place order|not available in (this|the selected) (location|datacenter)/i;

/**
 * Quota: an account-wide limit, the same in every datacenter. The hourly instance limit is
 * `SoftLayer_Account::hourlyInstanceLimit` / `hourlyServerLimit`; the exact exception text for
 * exceeding it is not documented, hence the broad patterns. "Your account is currently
 * prohibited from ordering 'Computing Instances'" is from the IBM Cloud Kubernetes Service
 * troubleshooting page.
 */
const QUOTA_CODES = /Limit|Quota/i;
const QUOTA_TEXT = /\blimit\b|maximum number of|quota|prohibited from ordering|exceed/i;

/** Refusals of the order's contents: a wrong flavor, preset, image or key id. */
const BAD_INPUT_CODES = new Set([
  'SoftLayer_Exception_InvalidValue',
  'SoftLayer_Exception_MissingCreationProperty',
  'SoftLayer_Exception_InvalidDataLength',
  'SoftLayer_Exception_Order_InvalidData',
]);

/** Turns a createObject failure into the error that says what to try next. */
export function classifyCreateFailure(
  err: unknown,
  where: { datacenter: string; instanceType: string; endpoint: string },
): Error {
  const at = `${where.instanceType} in ${where.datacenter}`;
  if (!(err instanceof SoftlayerApiError)) {
    return new ProvisionError(
      `ordering ${at} failed: ${errorMessage(err)}`,
      'INFRA',
      { ...where },
      { cause: err },
    );
  }
  const meta = { ...where, code: err.code, status: err.status };
  if (isAuthFailure(err)) return credentialsRejected(err, where.endpoint);
  if (err.code === RATE_LIMITED)
    return new ProvisionError(
      `SoftLayer kept rate-limiting the order of ${at}: ${err.message}`,
      'INFRA',
      meta,
      {
        cause: err,
      },
    );
  // A named bad-input code decides before any wording: "exceeds the limit of 16 KB" in a
  // refused userData is the user's to fix, not an account quota.
  if (err.code && BAD_INPUT_CODES.has(err.code))
    return new InputError(`SoftLayer refused the order of ${at} (${err.code}): ${err.message}`, meta, {
      cause: err,
    });
  if ((err.code && CAPACITY_CODES.test(err.code)) || CAPACITY_TEXT.test(err.message))
    return new ProvisionError(`no capacity for ${at} (${err.code}): ${err.message}`, 'CAPACITY', meta, {
      cause: err,
    });
  if ((err.code && QUOTA_CODES.test(err.code)) || QUOTA_TEXT.test(err.message))
    return new ProvisionError(
      `account limit reached ordering ${at} (${err.code}): ${err.message}`,
      'QUOTA',
      meta,
      {
        cause: err,
      },
    );
  return new ProvisionError(
    `ordering ${at} failed (${err.code ?? `HTTP ${err.status}`}): ${err.message}`,
    'INFRA',
    meta,
    {
      cause: err,
    },
  );
}

/** A clear message for rejected credentials: which user, which endpoint, where they came from. */
export function credentialsRejected(err: SoftlayerApiError, endpoint: string): InputError {
  return new InputError(
    `SoftLayer at ${endpoint} rejected the API credentials (${err.code ?? `HTTP ${err.status}`}: ${err.message}); ` +
      'check SL_USERNAME / SL_API_KEY or the [softlayer] section of ~/.softlayer',
    { endpoint, code: err.code, status: err.status },
    { cause: err },
  );
}
