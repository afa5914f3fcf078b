/**
 * A local fake of the SoftLayer REST API (classic infrastructure), for the provider's tests.
 * No emulator of this API exists; this one implements what benchyard uses, following the
 * documented requests and replies. Where a behaviour is not documented the comment says so
 * and says what was chosen.
 *
 * Requests (https://sldn.softlayer.com/article/rest/):
 * - `/rest/v3.1/<Service>[/<id>][/<method>][.json]`: with or without `.json`; no method means
 *   `getObject` for GET, `createObject` for POST, `deleteObject` for DELETE ("HTTP Request
 *   Types"), as softlayer-go builds URLs (`session/rest.go` `buildPath`); a method without its
 *   `get` prefix names the relational property (`SoftLayer_Account/Hardware.json`, "Rest Url
 *   Tricks"; softlayer-java `RestApiClient.getFullUrl`). `DELETE …/deleteObject.json` answers 404
 *   (softlayer-python issue #962). `.xml` / `.txt` are not served by the fake.
 * - Parameters as `{"parameters": [...]}` in a POST/PUT body; "The SoftLayer API will ignore
 *   data sent in as a GET request" ("REST Examples").
 * - `objectMask` (`mask[…]`, `mask.a.b`, `[mask[…],mask(Type)[…]]`, `filteredMask[…]`, the short
 *   form `a,b[c]` and the legacy `a;b.c`), `objectFilter` (JSON), `resultLimit=<offset>,<limit>`
 *   or `=<limit>` with the `SoftLayer-Total-Items` header ("Using Result Limits").
 * - HTTP basic authentication; wrong credentials answer 401 ("Authentication Errors") with
 *   `{"error":"Access Denied. ","code":"SoftLayer_Exception_Public"}`
 *   (https://sldn.softlayer.com/article/exception-handling-softlayer-api/).
 *
 * Replies: errors are `{"error": "...", "code": "SoftLayer_Exception_..."}`; ObjectNotFound is
 * 404 (softlayer-python issue #1259: "SoftLayerAPIError(404): Unable to find object with id of
 * '…'."), every other exception 500 (rate limiting: softlayer-go issue #75; capacity and
 * ordering errors: IBM Cloud Kubernetes Service troubleshooting, "(HTTP 500)").
 * Object masks (https://sldn.softlayer.com/article/object-masks/): without a mask only local
 * properties; masked local properties replace the default set ("Payload reduction"); masked
 * relational properties are added, and left out (never null) when the object has none; an
 * unknown property is an error.
 *
 * Quirks of the real service, off by default, switchable at any time (`fake.quirks`), so a
 * test can run both ways:
 * - `ignoreFilters`: the lists answer as if no objectFilter had been sent. SLDN, "Object
 *   Filters", Advanced Operators: "If you don't properly define these operators, the API
 *   tends to just ignore the filter and return the normal results"
 *   (https://sldn.softlayer.com/article/object-filters/).
 * - `lowerCaseTags`: setTags keeps tag names in lower case. Reported by docker/deploykit
 *   (PR #548: "Softlayer only supports lower-case chars in tags ... all tag checks ... must
 *   support case-insensitive key checks"; issue #449 quotes the setTags page as permitting
 *   "a-z, 0-9, whitespace, _, -, . and :").
 * - `lingerAfterCancelMs`: a cancelled machine stays visible (getObject, the account lists)
 *   without its billing item for at least this long before it is gone. The cancelItem page:
 *   "reclaim of the resource will begin shortly after the cancellation"
 *   (https://sldn.softlayer.com/reference/services/SoftLayer_Billing_Item/cancelItem/); users
 *   report an immediately cancelled server staying in the device list for a while
 *   (https://qiita.com/conservativerad/items/32df2e21c84348e4c2c2, "#3").
 * - `injectRaw` answers with any body, e.g. PROXY_NOT_FOUND: the HTML 404 page a proxy or load
 *   balancer sends, which names no SoftLayer exception; and a 404 from the API that is not
 *   ObjectNotFound ("Service does not exist", softlayer-python issue #947).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFault {
  status: number;
  /** Absent for failures in front of the API (a gateway's 502): the reply names no exception. */
  code?: string;
  error: string;
}

/** Error replies as the API sends them. */
export const SL_ERRORS = {
  /** softlayer-go issue #75, softlayer-python issue #884 (HTTP 500). */
  rateLimit: {
    status: 500,
    code: 'SoftLayer_Exception_WebService_RateLimitExceeded',
    error: 'Rate limit of 50 requests for every 1 second(s) exceeded.',
  },
  /** IBM Cloud Kubernetes Service troubleshooting ("provision_failed"), HTTP 500. */
  capacity: (datacenter = 'dal10'): FakeFault => ({
    status: 500,
    code: 'SoftLayer_Exception_Virtual_Host_Pool_InsufficientResources',
    error: `Could not place order. There are insufficient resources behind router bcr01a.${datacenter} to fulfill the request for the following guests: by-guest.`,
  }),
  /**
   * Exceeding SoftLayer_Account::hourlyInstanceLimit. NOT DOCUMENTED: the code and text are
   * an assumption; the documented account-wide refusal is `accountProhibited`.
   */
  hourlyLimit: {
    status: 500,
    code: 'SoftLayer_Exception_Public',
    error: 'The maximum number of hourly instances (hourlyInstanceLimit) for this account has been reached.',
  },
  /** softlayer-python issue #947: a 404 from the API itself that says nothing about an object. */
  serviceMissing: { status: 404, code: 'SoftLayer_Exception_Public', error: 'Service does not exist' },
  /** IBM Cloud Kubernetes Service troubleshooting, "Common issues with worker nodes". */
  accountProhibited: {
    status: 500,
    code: 'SoftLayer_Exception_Public',
    error: "Your account is currently prohibited from ordering 'Computing Instances'.",
  },
  /** Exception-handling article; 404 per softlayer-python issue #1259. */
  objectNotFound: (id: number | string): FakeFault => ({
    status: 404,
    code: 'SoftLayer_Exception_ObjectNotFound',
    error: `Unable to find object with id of '${id}'.`,
  }),
  accessDenied: { status: 401, code: 'SoftLayer_Exception_Public', error: 'Access Denied. ' },
  /** Exception-handling article. */
  internalError: { status: 500, code: 'SoftLayer_Exception_Public', error: 'Internal Error' },
} as const;

/** A reply as it comes over the wire, whatever sent it. */
export interface RawReply {
  status: number;
  contentType: string;
  body: string;
}

/** What a proxy or load balancer in front of the API answers for a path it does not route. */
export const PROXY_NOT_FOUND: RawReply = {
  status: 404,
  contentType: 'text/html',
  body: '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
};

/** Behaviours of the real service the fake leaves out unless asked (see the file comment). */
export interface SoftlayerQuirks {
  ignoreFilters: boolean;
  lowerCaseTags: boolean;
  lingerAfterCancelMs: number;
}

/** A machine someone else (or another benchyard) made, put straight into the account. */
export interface SeedMachine {
  type?: 'SoftLayer_Virtual_Guest' | 'SoftLayer_Hardware';
  hostname: string;
  domain: string;
  datacenter?: string;
  tags?: string[];
}

class Fault extends Error {
  constructor(readonly fault: FakeFault) {
    super(fault.error);
  }
}

/** A phase ends once both thresholds are passed: `polls` observations and `ms` of time. */
export interface Duration {
  polls?: number;
  ms?: number;
}

export interface SoftlayerFakeOptions {
  username?: string;
  apiKey?: string;
  accountId?: number;
  /** Guest: from createObject to provisionDate. @default { polls: 2 } (two polls see it provisioning) */
  provisioning?: Duration;
  /** Guest: from deleteObject to ObjectNotFound. @default { polls: 1 } */
  reclaim?: Duration;
  hardware?: {
    /** From createObject until the server has an id and is listed. @default { polls: 1 } */
    approval?: Duration;
    /** @default { polls: 3 } */
    provisioning?: Duration;
    /** From cancelItem until ObjectNotFound. @default { polls: 2 } */
    reclaim?: Duration;
  };
  /**
   * Refuse deleteObject while a provisioning transaction runs. Whether the API does is NOT
   * DOCUMENTED; terraform-provider-softlayer waits for no active transactions before deleting,
   * softlayer-python does not. Default: allowed.
   */
  refuseDeleteDuringTransaction?: boolean;
  /** Quirks of the real service to switch on from the start (also settable on `fake.quirks`). */
  quirks?: Partial<SoftlayerQuirks>;
  /** Public addresses handed out in order; then 198.51.100.x. */
  publicAddresses?: string[];
  /** Private addresses handed out in order; then 10.0.0.x. */
  privateAddresses?: string[];
}

type Phase = 'ordered' | 'provisioning' | 'ready' | 'reclaiming' | 'gone';

export interface FakeMachine {
  type: 'SoftLayer_Virtual_Guest' | 'SoftLayer_Hardware';
  /** null for bare metal until its order is processed (SoftLayer_Hardware::createObject). */
  id: number | null;
  globalIdentifier: string;
  hostname: string;
  domain: string;
  datacenter: string;
  /** The createObject template as received. */
  template: Record<string, unknown>;
  createDate: string;
  phase: Phase;
  phaseSince: number;
  phasePolls: number;
  provisionDate?: string;
  publicIp?: string;
  privateIp?: string;
  billingItemId?: number;
  tags: string[];
  transaction?: { id: number; name: string; createDate: string };
  cancellation?: { immediate: boolean; reason: unknown; note: unknown; at: string; ticketId: number };
}

export interface LoggedRequest {
  seq: number;
  at: number;
  httpMethod: string;
  path: string;
  service: string;
  id?: string;
  method: string;
  mask?: string;
  filter?: unknown;
  resultLimit?: string;
  params: unknown[];
  status: number;
}

export interface SoftlayerFake {
  /** REST base URL, `http://127.0.0.1:<port>/rest/v3.1/`. */
  url: string;
  close(): Promise<void>;
  state: { machines: FakeMachine[]; find(id: number | string): FakeMachine | undefined };
  requests: LoggedRequest[];
  /**
   * The next `times` calls of `method` (`Service::method` or `method`) fail with `fault`;
   * with `afterCall` the call is carried out first and only its reply is lost.
   */
  inject(method: string, fault: FakeFault, times?: number, opts?: { afterCall?: boolean }): void;
  /** The next `times` createObject calls for `datacenter` fail with `fault` (default: always). */
  injectDatacenter(datacenter: string, fault: FakeFault, times?: number): void;
  /** The next `times` calls of `method` get `reply` as it is, without being carried out. */
  injectRaw(method: string, reply: RawReply, times?: number): void;
  /** Mutable: switch a quirk on or off between calls. */
  quirks: SoftlayerQuirks;
  /** A ready machine in the account, tagged as given (subject to `lowerCaseTags`). */
  seed(machine: SeedMachine): FakeMachine;
}

interface Call {
  service: string;
  method: string;
  id?: string;
  params: unknown[];
  mask?: MaskNode;
  filter?: Record<string, unknown>;
  limit?: { offset: number; limit: number };
}
interface Reply {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

const GUEST_STEPS = ['ASSIGN_HOST', 'PROVISION_DHCP', 'CLOUD_CONFIGURE_METADATA_DISK', 'CLOUD_INSTALL_OS'];
const HARDWARE_STEPS = ['HARDWARE_ASSIGN', 'PXE_BOOT', 'INSTALL_OS', 'FINAL_CONFIG'];
const isoSeconds = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, '+00:00');

export async function startSoftlayerFake(opts: SoftlayerFakeOptions = {}): Promise<SoftlayerFake> {
  const username = opts.username ?? 'SL123456';
  const apiKey = opts.apiKey ?? 'a'.repeat(64);
  const accountId = opts.accountId ?? 232298;
  const machines: FakeMachine[] = [];
  const requests: LoggedRequest[] = [];
  const injected: { method: string; fault: FakeFault; times: number; afterCall?: boolean }[] = [];
  const rawInjected: { method: string; reply: RawReply; times: number }[] = [];
  const quirks: SoftlayerQuirks = {
    ignoreFilters: false,
    lowerCaseTags: false,
    lingerAfterCancelMs: 0,
    ...opts.quirks,
  };
  const dcFaults = new Map<string, { fault: FakeFault; times: number }>();
  const tagIds = new Map<string, number>();
  const publicPool = [...(opts.publicAddresses ?? [])];
  const privatePool = [...(opts.privateAddresses ?? [])];
  let nextId = 100_000_001;
  let nextAddress = 10;
  let seq = 0;
  let base = '';

  const find = (id: number | string) =>
    machines.find(
      (m) => m.phase !== 'gone' && (String(m.id) === String(id) || m.globalIdentifier === String(id)),
    );
  const durations = (m: FakeMachine): Record<'ordered' | 'provisioning' | 'reclaiming', Duration> =>
    m.type === 'SoftLayer_Virtual_Guest'
      ? {
          ordered: {},
          provisioning: opts.provisioning ?? { polls: 2 },
          reclaiming: opts.reclaim ?? { polls: 1 },
        }
      : {
          ordered: opts.hardware?.approval ?? { polls: 1 },
          provisioning: opts.hardware?.provisioning ?? { polls: 3 },
          reclaiming: opts.hardware?.reclaim ?? { polls: 2 },
        };
  const enter = (m: FakeMachine, phase: Phase) => {
    m.phase = phase;
    m.phaseSince = Date.now();
    m.phasePolls = 0;
  };
  const transaction = (name: string) => ({ id: nextId++, name, createDate: isoSeconds(Date.now()) });

  /**
   * One observation of the machine (a poll). A phase of `polls: n` is seen by n polls; the
   * next one sees the machine in its next phase.
   */
  function observe(m: FakeMachine): void {
    if (m.phase === 'ready' || m.phase === 'gone') return;
    const base = durations(m)[m.phase];
    const d =
      m.phase === 'reclaiming' ? { ...base, ms: Math.max(base.ms ?? 0, quirks.lingerAfterCancelMs) } : base;
    const steps = m.type === 'SoftLayer_Virtual_Guest' ? GUEST_STEPS : HARDWARE_STEPS;
    const over = m.phasePolls >= (d.polls ?? 0) && Date.now() - m.phaseSince >= (d.ms ?? 0);
    if (!over) {
      m.phasePolls++;
      if (m.phase === 'provisioning' && m.transaction)
        m.transaction = { ...m.transaction, name: steps[Math.min(m.phasePolls - 1, steps.length - 1)]! };
      return;
    }
    if (m.phase === 'ordered') {
      m.id = nextId++;
      m.transaction = transaction(steps[0]!);
      enter(m, 'provisioning');
    } else if (m.phase === 'provisioning') {
      m.provisionDate = isoSeconds(Date.now());
      if (!m.template.privateNetworkOnlyFlag) m.publicIp = publicPool.shift() ?? `198.51.100.${nextAddress}`;
      m.privateIp = privatePool.shift() ?? `10.0.0.${nextAddress}`;
      nextAddress++;
      m.transaction = undefined;
      enter(m, 'ready');
    } else if (m.phase === 'reclaiming') {
      m.transaction = undefined;
      enter(m, 'gone');
    }
  }

  function startReclaim(m: FakeMachine, reason: unknown, note: unknown) {
    m.billingItemId = undefined;
    m.cancellation = { immediate: true, reason, note, at: isoSeconds(Date.now()), ticketId: nextId++ };
    m.transaction = transaction('RECLAIM_WAIT');
    enter(m, 'reclaiming');
  }

  /** Every property, local and relational, of the machine's datatype (see DATATYPES below). */
  function view(m: FakeMachine): Record<string, unknown> {
    const flavor = (m.template.supplementalCreateObjectOptions as { flavorKeyName?: string } | undefined)
      ?.flavorKeyName;
    const size = /_(\d+)X(\d+)X\d+$/.exec(flavor ?? '');
    const tagReferences = m.tags.map((name) => ({
      id: tagIds.get(name)! * 10 + 1,
      resourceTableId: m.id,
      tagId: tagIds.get(name),
      tagTypeId: m.type === 'SoftLayer_Virtual_Guest' ? 2 : 1,
      usrRecordId: 1,
      empRecordId: null,
      tag: { id: tagIds.get(name), name, accountId, internal: 0 },
    }));
    const tx = m.transaction && {
      id: m.transaction.id,
      createDate: m.transaction.createDate,
      elapsedSeconds: Math.round((Date.now() - Date.parse(m.transaction.createDate)) / 1000),
      statusChangeDate: m.transaction.createDate,
      [m.type === 'SoftLayer_Virtual_Guest' ? 'guestId' : 'hardwareId']: m.id,
      transactionStatus: {
        name: m.transaction.name,
        friendlyName: m.transaction.name.toLowerCase(),
        averageDuration: '1',
      },
    };
    const common = {
      accountId,
      domain: m.domain,
      fullyQualifiedDomainName: `${m.hostname}.${m.domain}`,
      hostname: m.hostname,
      id: m.id,
      notes: null,
      globalIdentifier: m.globalIdentifier,
      primaryIpAddress: m.publicIp,
      primaryBackendIpAddress: m.privateIp,
      billingItem: m.billingItemId
        ? {
            id: m.billingItemId,
            hourlyFlag: true,
            cancellationDate: null,
            recurringFee: '0',
            hourlyRecurringFee: '1.23',
          }
        : undefined,
      datacenter: {
        id: 1_000 + m.datacenter.length,
        name: m.datacenter,
        longName: m.datacenter.toUpperCase(),
        statusId: 2,
      },
      tagReferences,
      hourlyBillingFlag: true,
      activeTransaction: tx,
      lastTransaction: tx,
    };
    if (m.type === 'SoftLayer_Hardware') {
      return {
        ...common,
        bareMetalInstanceFlag: 0,
        hardwareStatusId: m.phase === 'ready' ? 5 : 1,
        provisionDate: m.provisionDate ?? null,
        serialNumber: `SL${m.id ?? 0}`,
        serviceProviderId: 1,
        hardwareStatus: {
          id: m.phase === 'ready' ? 5 : 1,
          status: m.phase === 'ready' ? 'ACTIVE' : 'DEPLOY',
        },
        openCancellationTicket: m.cancellation
          ? { id: m.cancellation.ticketId, title: 'Cancellation', statusId: 1001 }
          : undefined,
      };
    }
    return {
      ...common,
      createDate: m.createDate,
      dedicatedAccountHostOnlyFlag: false,
      lastPowerStateId: null,
      lastVerifiedDate: null,
      maxCpu: size ? Number(size[1]) : (m.template.startCpus ?? 1),
      maxCpuUnits: 'CORE',
      maxMemory: size ? Number(size[2]) * 1024 : (m.template.maxMemory ?? 1024),
      metricPollDate: null,
      modifyDate: m.createDate,
      startCpus: size ? Number(size[1]) : (m.template.startCpus ?? 1),
      statusId: 1001,
      uuid: m.globalIdentifier,
      provisionDate: m.provisionDate,
      operatingSystemReferenceCode: m.template.operatingSystemReferenceCode,
      status: { keyName: m.phase === 'reclaiming' ? 'DISCONNECTED' : 'ACTIVE', name: 'Active' },
      powerState: {
        keyName: m.phase === 'ready' ? 'RUNNING' : 'HALTED',
        name: m.phase === 'ready' ? 'Running' : 'Halted',
      },
      privateNetworkOnlyFlag: Boolean(m.template.privateNetworkOnlyFlag),
      lastOperatingSystemReload: undefined,
    };
  }

  function need<T>(value: T | undefined | null | '', property: string, type: string): T {
    if (value === undefined || value === null || value === '')
      throw new Fault({
        status: 500,
        code: 'SoftLayer_Exception_MissingCreationProperty',
        // The text of softlayer-python issue #885.
        error: `The property '${property}' must be set to create an instance of '${type}'.`,
      });
    return value;
  }

  function createObject(type: FakeMachine['type'], params: unknown[]): Reply {
    const t = params[0];
    if (!t || typeof t !== 'object' || Array.isArray(t))
      throw new Fault({ status: 500, code: 'SoftLayer_Exception_Public', error: 'Invalid template object.' });
    const template = t as Record<string, unknown>;
    const hostname = need(template.hostname as string, 'hostname', type);
    const domain = need(template.domain as string, 'domain', type);
    const datacenter = need(
      (template.datacenter as { name?: string } | undefined)?.name,
      'datacenter.name',
      type,
    );
    need(
      typeof template.hourlyBillingFlag === 'boolean' ? template.hourlyBillingFlag : undefined,
      'hourlyBillingFlag',
      type,
    );
    if (type === 'SoftLayer_Virtual_Guest') {
      // createObject reference: startCpus/maxMemory/localDiskFlag are required unless a flavor sets them.
      const flavor = (template.supplementalCreateObjectOptions as { flavorKeyName?: string } | undefined)
        ?.flavorKeyName;
      if (!flavor) {
        need(template.startCpus, 'startCpus', type);
        need(template.maxMemory, 'maxMemory', type);
        need(template.localDiskFlag, 'localDiskFlag', type);
      }
      const image = (template.blockDeviceTemplateGroup as { globalIdentifier?: string } | undefined)
        ?.globalIdentifier;
      if (image && template.operatingSystemReferenceCode)
        throw new Fault({
          status: 500,
          code: 'SoftLayer_Exception_InvalidValue',
          error: 'blockDeviceTemplateGroup.globalIdentifier conflicts with operatingSystemReferenceCode.',
        });
      if (!image) need(template.operatingSystemReferenceCode, 'operatingSystemReferenceCode', type);
    } else {
      need(template.operatingSystemReferenceCode, 'operatingSystemReferenceCode', type);
      const preset = (template.fixedConfigurationPreset as { keyName?: string } | undefined)?.keyName;
      if (!preset) {
        need(template.processorCoreAmount, 'processorCoreAmount', type);
        need(template.memoryCapacity, 'memoryCapacity', type);
      }
    }
    for (const key of (template.sshKeys as { id?: unknown }[] | undefined) ?? [])
      if (typeof key?.id !== 'number')
        throw new Fault({
          status: 500,
          code: 'SoftLayer_Exception_InvalidValue',
          error: 'sshKeys[].id must be an integer.',
        });
    const dcFault = dcFaults.get(datacenter);
    if (dcFault && dcFault.times > 0) {
      dcFault.times--;
      throw new Fault(dcFault.fault);
    }
    const now = Date.now();
    const m: FakeMachine = {
      type,
      id: type === 'SoftLayer_Virtual_Guest' ? nextId++ : null,
      globalIdentifier: randomUUID(),
      hostname,
      domain,
      datacenter,
      template,
      createDate: isoSeconds(now),
      phase: type === 'SoftLayer_Virtual_Guest' ? 'provisioning' : 'ordered',
      phaseSince: now,
      phasePolls: 0,
      billingItemId: nextId++,
      tags: [],
    };
    if (type === 'SoftLayer_Virtual_Guest') m.transaction = transaction(GUEST_STEPS[0]!);
    machines.push(m);
    if (type === 'SoftLayer_Virtual_Guest') {
      const v = view(m);
      // The reply documented on the createObject page (HTTP 201 with a Location header).
      const keys = [
        'accountId',
        'createDate',
        'dedicatedAccountHostOnlyFlag',
        'domain',
        'hostname',
        'id',
        'lastPowerStateId',
        'lastVerifiedDate',
        'maxCpu',
        'maxCpuUnits',
        'maxMemory',
        'metricPollDate',
        'modifyDate',
        'privateNetworkOnlyFlag',
        'startCpus',
        'statusId',
        'globalIdentifier',
      ];
      return {
        status: 201,
        headers: { location: `${base}SoftLayer_Virtual_Guest/${m.id}/getObject` },
        body: Object.fromEntries(keys.map((k) => [k, k === 'modifyDate' ? null : v[k]])),
      };
    }
    // SoftLayer_Hardware::createObject: `id: null`, poll by globalIdentifier.
    return {
      status: 201,
      headers: { location: `${base}SoftLayer_Hardware/${m.globalIdentifier}/getObject` },
      body: {
        accountId,
        bareMetalInstanceFlag: null,
        domain,
        hardwareStatusId: null,
        hostname,
        id: null,
        serviceProviderId: null,
        globalIdentifier: m.globalIdentifier,
        hourlyBillingFlag: true,
        operatingSystemReferenceCode: template.operatingSystemReferenceCode,
        ...(template.fixedConfigurationPreset
          ? { fixedConfigurationPreset: template.fixedConfigurationPreset }
          : {}),
      },
    };
  }

  function machineFor(call: Call, type: FakeMachine['type'], allowGuid: boolean): FakeMachine {
    const id = call.id;
    if (id === undefined)
      throw new Fault({
        status: 500,
        code: 'SoftLayer_Exception_MissingInitParameter',
        error: `${call.service}::${call.method} needs an id.`,
      });
    const m = find(id);
    const byGuid = m && String(m.id) !== id;
    if (!m || m.type !== type || (byGuid && !allowGuid) || (m.id === null && !byGuid))
      throw new Fault(SL_ERRORS.objectNotFound(id));
    return m;
  }

  function getObject(call: Call, type: FakeMachine['type'], maskType: string, allowGuid = false): Reply {
    const m = machineFor(call, type, allowGuid);
    observe(m);
    if (m.phase === 'gone') throw new Fault(SL_ERRORS.objectNotFound(call.id!));
    return { body: applyMask(maskType, view(m), call.mask) };
  }

  function setTags(call: Call, type: FakeMachine['type']): Reply {
    const m = machineFor(call, type, false);
    const tags = call.params[0];
    if (call.params.length !== 1 || typeof tags !== 'string')
      throw new Fault({
        status: 500,
        code: 'SoftLayer_Exception_Public',
        error: 'setTags expects one string parameter.',
      });
    // SoftLayer_Tag::setTags: comma separated; "All other characters will be stripped away";
    // "Tag references are cleared out every time this method is called".
    storeTags(m, tags.split(','));
    return { body: true };
  }

  function storeTags(m: FakeMachine, names: readonly string[]) {
    m.tags = [
      ...new Set(
        names
          .map((s) => s.replace(/[^A-Za-z0-9\s_.:-]/g, '').trim())
          .map((s) => (quirks.lowerCaseTags ? s.toLowerCase() : s))
          .filter(Boolean),
      ),
    ];
    for (const name of m.tags) if (!tagIds.has(name)) tagIds.set(name, tagIds.size + 1);
  }

  function seed(spec: SeedMachine): FakeMachine {
    const now = Date.now();
    const type = spec.type ?? 'SoftLayer_Virtual_Guest';
    const m: FakeMachine = {
      type,
      id: nextId++,
      globalIdentifier: randomUUID(),
      hostname: spec.hostname,
      domain: spec.domain,
      datacenter: spec.datacenter ?? 'dal10',
      template: type === 'SoftLayer_Virtual_Guest' ? { operatingSystemReferenceCode: 'UBUNTU_22_64' } : {},
      createDate: isoSeconds(now),
      phase: 'ready',
      phaseSince: now,
      phasePolls: 0,
      provisionDate: isoSeconds(now),
      publicIp: `198.51.100.${nextAddress}`,
      privateIp: `10.0.0.${nextAddress++}`,
      billingItemId: nextId++,
      tags: [],
    };
    storeTags(m, spec.tags ?? []);
    machines.push(m);
    return m;
  }

  function list(call: Call, type: FakeMachine['type'], root: string): Reply {
    // A list observes what it shows: a reclaim runs on whether or not anyone polls the machine.
    for (const m of machines) if (m.type === type && m.phase === 'reclaiming') observe(m);
    const all = machines.filter((m) => m.type === type && m.id !== null && m.phase !== 'gone');
    const items = all
      .map(view)
      .filter(
        (v) =>
          !call.filter ||
          quirks.ignoreFilters ||
          matchesFilter('SoftLayer_Account', { [root]: v }, call.filter),
      );
    const page = call.limit ? items.slice(call.limit.offset, call.limit.offset + call.limit.limit) : items;
    return {
      body: page.map((v) => applyMask(type, v, call.mask)),
      headers: { 'softlayer-total-items': String(items.length) },
    };
  }

  const HANDLERS: Record<string, Record<string, (call: Call) => Reply>> = {
    SoftLayer_Virtual_Guest: {
      createObject: (c) => createObject('SoftLayer_Virtual_Guest', c.params),
      getObject: (c) => getObject(c, 'SoftLayer_Virtual_Guest', 'SoftLayer_Virtual_Guest'),
      setTags: (c) => setTags(c, 'SoftLayer_Virtual_Guest'),
      // deleteObject: "cancel a computing instance effective immediately"; the reclaim then runs
      // as a transaction until the guest is gone. A second deleteObject during the reclaim is
      // refused (NOT DOCUMENTED: assumed).
      deleteObject: (c) => {
        const m = machineFor(c, 'SoftLayer_Virtual_Guest', false);
        if (m.phase === 'reclaiming')
          throw new Fault({
            status: 500,
            code: 'SoftLayer_Exception_Public',
            error: 'A cancellation is already in progress for this guest.',
          });
        if (m.transaction && opts.refuseDeleteDuringTransaction)
          throw new Fault({
            status: 500,
            code: 'SoftLayer_Exception_Public',
            error: 'Cannot cancel a guest with an active transaction.',
          });
        startReclaim(m, 'deleteObject', '');
        return { body: true };
      },
    },
    SoftLayer_Hardware: {
      createObject: (c) => createObject('SoftLayer_Hardware', c.params),
      // SoftLayer_Hardware::createObject: "Be sure to use the globalIdentifier as your initialization parameter."
      getObject: (c) => getObject(c, 'SoftLayer_Hardware', 'SoftLayer_Hardware', true),
      setTags: (c) => setTags(c, 'SoftLayer_Hardware'),
    },
    SoftLayer_Hardware_Server: {
      getObject: (c) => getObject(c, 'SoftLayer_Hardware', 'SoftLayer_Hardware_Server'),
      setTags: (c) => setTags(c, 'SoftLayer_Hardware'),
    },
    SoftLayer_Billing_Item: {
      // cancelItem(cancelImmediately, cancelAssociatedBillingItems, reason, customerNote).
      cancelItem: (c) => {
        const m = machines.find(
          (x) => x.phase !== 'gone' && x.billingItemId !== undefined && String(x.billingItemId) === c.id,
        );
        if (!m) throw new Fault(SL_ERRORS.objectNotFound(c.id ?? ''));
        if (typeof c.params[0] !== 'boolean' || typeof c.params[1] !== 'boolean')
          throw new Fault({
            status: 500,
            code: 'SoftLayer_Exception_InvalidValue',
            error: 'cancelItem expects (boolean, boolean, string, string).',
          });
        // softlayer-python refuses to cancel hardware with a running transaction; the fake
        // makes the API refuse it too (NOT DOCUMENTED as an API error).
        if (m.transaction)
          throw new Fault({
            status: 500,
            code: 'SoftLayer_Exception_Public',
            error: 'Unable to cancel a server with a running transaction.',
          });
        if (c.params[0]) startReclaim(m, c.params[2], c.params[3]);
        return { body: true };
      },
    },
    SoftLayer_Account: {
      getVirtualGuests: (c) => list(c, 'SoftLayer_Virtual_Guest', 'virtualGuests'),
      getHardware: (c) => {
        // An order becomes a listed server once processed (the SLDN blog on ordering bare metal).
        for (const m of machines) if (m.type === 'SoftLayer_Hardware' && m.phase === 'ordered') observe(m);
        return list(c, 'SoftLayer_Hardware', 'hardware');
      },
    },
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const httpMethod = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const entry: LoggedRequest = {
      seq: ++seq,
      at: Date.now(),
      httpMethod,
      path: url.pathname,
      service: '',
      method: '',
      params: [],
      status: 0,
    };
    requests.push(entry);
    const send = (r: Reply) => {
      entry.status = r.status ?? 200;
      res.writeHead(entry.status, { 'content-type': 'application/json', ...r.headers });
      res.end(JSON.stringify(r.body));
    };
    const fail = (f: FakeFault) =>
      send({ status: f.status, body: f.code ? { error: f.error, code: f.code } : { error: f.error } });
    try {
      const m = /^\/rest\/v3(?:\.1)?\/(.+?)\/?$/.exec(url.pathname);
      if (!m)
        return fail({ status: 404, code: 'SoftLayer_Exception_Public', error: 'Service does not exist' });
      const parts = m[1]!.split('/');
      const last = parts[parts.length - 1]!;
      const ext = /\.(json|xml|txt)$/.exec(last);
      if (ext) parts[parts.length - 1] = last.slice(0, -ext[0].length);
      if (ext && ext[1] !== 'json')
        return fail({ status: 400, code: 'SoftLayer_Exception_Public', error: 'The fake serves JSON only.' });
      const [service, ...rest] = parts;
      entry.service = service!;
      const isId = (s: string | undefined) => s !== undefined && /^(\d+|[0-9a-f-]{36})$/i.test(s);
      const id = isId(rest[0]) ? rest.shift() : undefined;
      if (rest.length > 1)
        return fail({ status: 400, code: 'SoftLayer_Exception_WebService_BadRequest', error: 'Bad request' });
      let method = rest[0];
      if (method && httpMethod === 'DELETE')
        return fail({ status: 404, code: 'SoftLayer_Exception_WebService_BadRequest', error: 'Not Found' });
      method ??=
        { GET: 'getObject', POST: 'createObject', DELETE: 'deleteObject', PUT: 'editObject' }[httpMethod] ??
        'getObject';
      const handlers = HANDLERS[service!];
      if (!handlers)
        return fail({ status: 500, code: 'SoftLayer_Exception_Public', error: 'Service does not exist' });
      if (!handlers[method] && handlers[`get${method[0]!.toUpperCase()}${method.slice(1)}`])
        method = `get${method[0]!.toUpperCase()}${method.slice(1)}`;
      entry.method = method;
      if (id !== undefined) entry.id = id;
      // Credentials are checked for every request the fake can name (path shape errors come first).
      const auth = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
      const [user, key] = auth ? Buffer.from(auth[1]!, 'base64').toString().split(/:(.*)/s) : [];
      if (user !== username || key !== apiKey) return fail(SL_ERRORS.accessDenied);

      let params: unknown[] = [];
      const body = Buffer.concat(chunks).toString();
      if ((httpMethod === 'POST' || httpMethod === 'PUT') && body.trim()) {
        try {
          const parsed = JSON.parse(body) as { parameters?: unknown };
          params = Array.isArray(parsed.parameters) ? parsed.parameters : [];
        } catch {
          return fail({
            status: 400,
            code: 'SoftLayer_Exception_WebService_BadRequest',
            error: 'Bad request',
          });
        }
      }
      entry.params = params;
      const mask = url.searchParams.get('objectMask') ?? undefined;
      const filter = url.searchParams.get('objectFilter') ?? undefined;
      const resultLimit = url.searchParams.get('resultLimit') ?? undefined;
      if (mask !== undefined) entry.mask = mask;
      if (resultLimit !== undefined) entry.resultLimit = resultLimit;
      const call: Call = { service: service!, method, params, ...(id !== undefined ? { id } : {}) };
      if (mask) call.mask = parseMask(mask);
      if (filter) {
        try {
          call.filter = JSON.parse(filter) as Record<string, unknown>;
          entry.filter = call.filter;
        } catch {
          return fail({ status: 500, code: 'SoftLayer_Exception_Public', error: 'Invalid object filter.' });
        }
      }
      if (resultLimit) {
        const [a, b] = resultLimit.split(',').map(Number);
        call.limit = b === undefined ? { offset: 0, limit: a! } : { offset: a!, limit: b };
      }

      const handler = handlers[method];
      if (!handler)
        return fail({
          status: 500,
          code: 'SoftLayer_Exception_Public',
          error: `Function ("${method}") is not a valid method for this service.`,
        });
      const raw = rawInjected.find(
        (i) => i.times > 0 && (i.method === method || i.method === `${service}::${method}`),
      );
      if (raw) {
        raw.times--;
        entry.status = raw.reply.status;
        res.writeHead(raw.reply.status, { 'content-type': raw.reply.contentType });
        return void res.end(raw.reply.body);
      }
      const inj = injected.find(
        (i) => i.times > 0 && (i.method === method || i.method === `${service}::${method}`),
      );
      if (inj) {
        inj.times--;
        if (inj.afterCall) handler(call);
        return fail(inj.fault);
      }
      send(handler(call));
    } catch (err) {
      if (err instanceof Fault) return fail(err.fault);
      fail({ ...SL_ERRORS.internalError, error: `Internal Error (${(err as Error).message})` });
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}/rest/v3.1/`;
  return {
    url: base,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    state: { machines, find },
    requests,
    inject: (method, fault, times = 1, o = {}) => injected.push({ method, fault, times, ...o }),
    injectDatacenter: (datacenter, fault, times = Number.POSITIVE_INFINITY) =>
      dcFaults.set(datacenter, { fault, times }),
    injectRaw: (method, reply, times = 1) => rawInjected.push({ method, reply, times }),
    quirks,
    seed,
  };
}

// ---------------------------------------------------------------------------------------
// Datatypes, object masks and object filters.

/**
 * The properties of the datatypes the fake serves, local and relational. The split follows
 * the SLDN datatype reference as generated into softlayer-go (`datatypes/*.go`, where the
 * generator adds a `get<Property>` method for every relational property). Among them,
 * `provisionDate` is relational on SoftLayer_Virtual_Guest (its createObject page: "requesting
 * the `provisionDate` relational property") but local on SoftLayer_Hardware; `activeTransaction`
 * exists on SoftLayer_Hardware_Server only (softlayer-python masks it as
 * `mask(SoftLayer_Hardware_Server)[activeTransaction…]` on Account::getHardware).
 * Relational scalars are typed 'scalar'.
 */
const DATATYPES: Record<
  string,
  { locals: readonly string[]; relations: Record<string, string>; parent?: string }
> = {
  SoftLayer_Account: {
    locals: ['id', 'companyName'],
    relations: { virtualGuests: 'SoftLayer_Virtual_Guest', hardware: 'SoftLayer_Hardware' },
  },
  SoftLayer_Virtual_Guest: {
    locals: [
      'accountId',
      'createDate',
      'dedicatedAccountHostOnlyFlag',
      'domain',
      'fullyQualifiedDomainName',
      'hostname',
      'id',
      'lastPowerStateId',
      'lastVerifiedDate',
      'maxCpu',
      'maxCpuUnits',
      'maxMemory',
      'metricPollDate',
      'modifyDate',
      'notes',
      'startCpus',
      'statusId',
      'uuid',
    ],
    relations: {
      activeTransaction: 'SoftLayer_Provisioning_Version1_Transaction',
      lastTransaction: 'SoftLayer_Provisioning_Version1_Transaction',
      lastOperatingSystemReload: 'SoftLayer_Provisioning_Version1_Transaction',
      billingItem: 'SoftLayer_Billing_Item',
      datacenter: 'SoftLayer_Location',
      tagReferences: 'SoftLayer_Tag_Reference',
      status: 'SoftLayer_Virtual_Guest_Status',
      powerState: 'SoftLayer_Virtual_Guest_Power_State',
      globalIdentifier: 'scalar',
      provisionDate: 'scalar',
      primaryIpAddress: 'scalar',
      primaryBackendIpAddress: 'scalar',
      hourlyBillingFlag: 'scalar',
      operatingSystemReferenceCode: 'scalar',
      privateNetworkOnlyFlag: 'scalar',
    },
  },
  SoftLayer_Hardware: {
    locals: [
      'accountId',
      'bareMetalInstanceFlag',
      'domain',
      'fullyQualifiedDomainName',
      'hardwareStatusId',
      'hostname',
      'id',
      'notes',
      'provisionDate',
      'serialNumber',
      'serviceProviderId',
    ],
    relations: {
      billingItem: 'SoftLayer_Billing_Item',
      datacenter: 'SoftLayer_Location',
      tagReferences: 'SoftLayer_Tag_Reference',
      hardwareStatus: 'SoftLayer_Hardware_Status',
      lastTransaction: 'SoftLayer_Provisioning_Version1_Transaction',
      globalIdentifier: 'scalar',
      primaryIpAddress: 'scalar',
      primaryBackendIpAddress: 'scalar',
      hourlyBillingFlag: 'scalar',
    },
  },
  SoftLayer_Hardware_Server: {
    parent: 'SoftLayer_Hardware',
    locals: [],
    relations: {
      activeTransaction: 'SoftLayer_Provisioning_Version1_Transaction',
      openCancellationTicket: 'SoftLayer_Ticket',
    },
  },
  SoftLayer_Provisioning_Version1_Transaction: {
    locals: ['id', 'createDate', 'elapsedSeconds', 'guestId', 'hardwareId', 'statusChangeDate'],
    relations: { transactionStatus: 'SoftLayer_Provisioning_Version1_Transaction_Status' },
  },
  SoftLayer_Provisioning_Version1_Transaction_Status: {
    locals: ['name', 'friendlyName', 'averageDuration'],
    relations: {},
  },
  SoftLayer_Billing_Item: {
    locals: ['id', 'cancellationDate', 'hourlyFlag', 'recurringFee', 'hourlyRecurringFee'],
    relations: {},
  },
  SoftLayer_Location: { locals: ['id', 'name', 'longName', 'statusId'], relations: {} },
  SoftLayer_Tag_Reference: {
    locals: ['id', 'empRecordId', 'resourceTableId', 'tagId', 'tagTypeId', 'usrRecordId'],
    relations: { tag: 'SoftLayer_Tag' },
  },
  SoftLayer_Tag: { locals: ['id', 'name', 'accountId', 'internal'], relations: {} },
  SoftLayer_Ticket: { locals: ['id', 'title', 'statusId'], relations: {} },
  SoftLayer_Virtual_Guest_Status: { locals: ['keyName', 'name'], relations: {} },
  SoftLayer_Virtual_Guest_Power_State: { locals: ['keyName', 'name'], relations: {} },
  SoftLayer_Hardware_Status: { locals: ['id', 'status'], relations: {} },
};

function datatype(type: string): { locals: Set<string>; relations: Record<string, string> } {
  const def = DATATYPES[type];
  if (!def)
    throw new Fault({ status: 500, code: 'SoftLayer_Exception_Public', error: `Unknown type '${type}'.` });
  const parent = def.parent ? datatype(def.parent) : { locals: new Set<string>(), relations: {} };
  return {
    locals: new Set([...parent.locals, ...def.locals]),
    relations: { ...parent.relations, ...def.relations },
  };
}

function isSubtype(type: string, of: string): boolean {
  for (let t: string | undefined = type; t; t = DATATYPES[t]?.parent) if (t === of) return true;
  return false;
}

/**
 * Unknown properties are refused, with the text the API uses for them (seen in practice,
 * "Property 'x' not valid for 'SoftLayer_…'."; not on a reference page).
 */
function invalidProperty(name: string, type: string): Fault {
  return new Fault({
    status: 500,
    code: 'SoftLayer_Exception_Public',
    error: `Property '${name}' not valid for '${type}'.`,
  });
}

export interface MaskNode {
  children: Map<string, MaskNode>;
  /** `prop(SoftLayer_Type)[…]`: the type the properties are looked up on. */
  type?: string;
}

/** Parses every mask form of https://sldn.softlayer.com/article/object-masks/ and the REST article. */
export function parseMask(text: string): MaskNode {
  const root: MaskNode = { children: new Map() };
  let i = 0;
  const bad = () =>
    new Fault({ status: 500, code: 'SoftLayer_Exception_Public', error: `Invalid object mask: ${text}` });
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const ident = () => {
    ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (!m) throw bad();
    i += m[0].length;
    return m[0];
  };
  const child = (node: MaskNode, name: string) => {
    let c = node.children.get(name);
    if (!c) node.children.set(name, (c = { children: new Map() }));
    return c;
  };
  const list = (node: MaskNode, close: string | undefined): void => {
    for (;;) {
      ws();
      if (i >= text.length) {
        if (close) throw bad();
        return;
      }
      if (text[i] === close) {
        i++;
        return;
      }
      item(node);
      ws();
      if (text[i] === ',' || text[i] === ';') i++;
      else if (i < text.length && text[i] !== close) throw bad();
    }
  };
  const item = (node: MaskNode): void => {
    ws();
    if (text[i] === '[') {
      i++;
      return list(node, ']');
    }
    const name = ident();
    ws();
    let type: string | undefined;
    if (text[i] === '(') {
      const end = text.indexOf(')', i);
      if (end < 0) throw bad();
      type = text.slice(i + 1, end).trim();
      i = end + 1;
    }
    const target = node === root && (name === 'mask' || name === 'filteredMask') ? root : child(node, name);
    if (type) target.type = type;
    ws();
    if (text[i] === '[') {
      i++;
      list(target, ']');
    } else if (text[i] === '.') {
      i++;
      item(target);
    }
  };
  list(root, undefined);
  return root;
}

/** Applies a mask to the full view of an object of `type`. */
export function applyMask(
  type: string,
  obj: Record<string, unknown>,
  node: MaskNode | undefined,
): Record<string, unknown> {
  const as = node?.type && isSubtype(node.type, type) ? node.type : type;
  const def = datatype(as);
  const names = [...(node?.children.keys() ?? [])];
  for (const n of names) if (!def.locals.has(n) && !(n in def.relations)) throw invalidProperty(n, as);
  const maskedLocals = names.filter((n) => def.locals.has(n));
  const out: Record<string, unknown> = {};
  for (const n of maskedLocals.length ? maskedLocals : [...def.locals]) if (n in obj) out[n] = obj[n] ?? null;
  for (const n of names) {
    const rel = def.relations[n];
    const value = obj[n];
    if (rel === undefined || value === undefined || value === null) continue; // left out, never null
    const sub = node!.children.get(n);
    if (rel === 'scalar') out[n] = value;
    else if (Array.isArray(value))
      out[n] = value.map((v) => applyMask(rel, v as Record<string, unknown>, sub));
    else out[n] = applyMask(rel, value as Record<string, unknown>, sub);
  }
  return out;
}

interface Operation {
  operation: unknown;
  options?: { name?: string; value?: unknown[] }[];
}

/**
 * https://sldn.softlayer.com/article/object-filters/: nested properties from the service's
 * datatype down, `{"operation": …}` at the leaves; a relation that is a list matches when any
 * element does. `orderBy` operations only sort, so they match everything.
 */
export function matchesFilter(
  type: string,
  obj: Record<string, unknown>,
  filter: Record<string, unknown>,
): boolean {
  const def = datatype(type);
  for (const [key, cond] of Object.entries(filter)) {
    if (!def.locals.has(key) && !(key in def.relations)) throw invalidProperty(key, type);
    const value = obj[key];
    if (cond && typeof cond === 'object' && 'operation' in cond) {
      if (!testOperation(value, cond as Operation)) return false;
      continue;
    }
    if (!cond || typeof cond !== 'object') continue; // malformed: "the API tends to just ignore the filter"
    const rel = def.relations[key];
    if (!rel || rel === 'scalar') return false;
    const items = Array.isArray(value) ? value : value == null ? [] : [value];
    if (!items.some((v) => matchesFilter(rel, v as Record<string, unknown>, cond as Record<string, unknown>)))
      return false;
  }
  return true;
}

function testOperation(value: unknown, cond: Operation): boolean {
  const op = cond.operation;
  if (typeof op === 'number') return Number(value) === op;
  if (typeof op !== 'string') return true;
  const data = cond.options?.find((o) => o.name === 'data')?.value ?? [];
  switch (op.trim()) {
    case 'orderBy':
      return true;
    case 'in':
      return data.map(String).includes(String(value));
    case 'not in':
      return !data.map(String).includes(String(value));
    case 'or':
      return data.some((d) => testOperation(value, { operation: d }));
    case 'and':
      return data.every((d) => testOperation(value, { operation: d }));
    case 'is null':
      return value === undefined || value === null;
    case 'not null':
      return value !== undefined && value !== null;
  }
  if (value === undefined || value === null) return false;
  const m = /^(!\^=|!\$=|!\*=|\^=|\$=|\*=|_=|!=|>=|<=|>|<|!~|~)\s*(.*)$/s.exec(op.trim());
  const v = String(value);
  const x = m ? m[2]! : op.trim();
  const num = (a: string, b: string) =>
    Number.isFinite(Number(a)) && Number.isFinite(Number(b)) ? Number(a) - Number(b) : a.localeCompare(b);
  switch (m?.[1]) {
    case undefined:
      return v === x;
    case '!=':
      return v !== x;
    case '^=':
      return v.startsWith(x);
    case '!^=':
      return !v.startsWith(x);
    case '$=':
      return v.endsWith(x);
    case '!$=':
      return !v.endsWith(x);
    case '*=':
      return v.includes(x);
    case '!*=':
      return !v.includes(x);
    case '_=':
      return v.toLowerCase() === x;
    case '>':
      return num(v, x) > 0;
    case '>=':
      return num(v, x) >= 0;
    case '<':
      return num(v, x) < 0;
    case '<=':
      return num(v, x) <= 0;
    case '~':
      return new RegExp(x).test(v);
    case '!~':
      return !new RegExp(x).test(v);
  }
  return false;
}
