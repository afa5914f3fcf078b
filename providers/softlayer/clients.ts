/**
 * Which endpoint a call goes to and with which credentials: one client per endpoint, the
 * credentials read once (env, then ~/.softlayer) and only when a client is first needed.
 */
import type { Clock, Logger } from '../../src/core/index.js';
import { SoftlayerClient } from './client.js';
import {
  DEFAULT_ENDPOINT,
  loadCredentials,
  normaliseEndpoint,
  type CredentialSources,
  type SoftlayerCredentials,
} from './credentials.js';

export interface ClientPoolOptions {
  /** Builds the client for an endpoint; default: credentials from env / ~/.softlayer. */
  client?: (endpoint: string) => SoftlayerClient;
  /** Endpoint for targets without one and for `discover`; default endpoint_url, else the public one. */
  defaultEndpoint?: string;
  credentials?: CredentialSources;
}

export class ClientPool {
  private readonly clients = new Map<string, SoftlayerClient>();
  private credentials?: Promise<SoftlayerCredentials>;

  constructor(
    private readonly opts: ClientPoolOptions,
    private readonly deps: { clock: Clock; logger: Logger },
  ) {}

  /** The target's endpoint, else the configured default. */
  async endpoint(configured?: string): Promise<string> {
    if (configured) return normaliseEndpoint(configured);
    if (this.opts.defaultEndpoint) return normaliseEndpoint(this.opts.defaultEndpoint);
    if (this.opts.client) return DEFAULT_ENDPOINT;
    return (await this.loadCredentials()).endpoint ?? DEFAULT_ENDPOINT;
  }

  async get(endpoint: string): Promise<SoftlayerClient> {
    const key = normaliseEndpoint(endpoint);
    let client = this.clients.get(key);
    if (!client) {
      if (this.opts.client) client = this.opts.client(key);
      else {
        const { username, apiKey } = await this.loadCredentials();
        client = new SoftlayerClient({ endpoint: key, username, apiKey, ...this.deps });
      }
      this.clients.set(key, client);
    }
    return client;
  }

  private loadCredentials(): Promise<SoftlayerCredentials> {
    this.credentials ??= loadCredentials(this.opts.credentials);
    return this.credentials;
  }
}
