/**
 * The login connections of slurm targets: one per login node, shared by every target and
 * allocation that uses it, closed when the last user lets go. Also how gc reaches a login
 * and a node again from what the ledger recorded.
 */
import os from 'node:os';
import {
  endpointDetails,
  endpointFromDetails,
  sshEndpoint,
  type ProviderContext,
  type SshEndpoint,
  type SshLoginOptions,
  type SshSession,
} from '../../src/core/index.js';
import type { SlurmTargetOptions } from '../../src/config/targets/slurm.js';
import { SlurmCluster } from './cluster.js';
import { localShell, sshShell } from './shell.js';

export interface Login {
  readonly key: string;
  readonly cluster: SlurmCluster;
  /** What gc needs to reach it again (never a secret). */
  readonly details: Record<string, unknown>;
  /** The Unix user Slurm commands run as: every holder job of benchyard's is this user's. */
  readonly user: string;
  users: number;
  /** Closes its connection (none for a local login). */
  close?: () => Promise<void>;
}

export class Logins {
  private readonly open = new Map<string, Promise<Login>>();

  constructor(private readonly ctx: ProviderContext) {}

  /** The login of a target, connected; `let go` it when done. */
  take(options: SlurmTargetOptions, signal: AbortSignal): Promise<Login> {
    if ('local' in options.login) return this.takeAt('local', { local: true }, undefined, signal);
    const endpoint = sshEndpoint(options.login.host, options.ssh, {
      user: 'root',
      ...(this.ctx.sshAgentSocket ? { agentSocket: this.ctx.sshAgentSocket } : {}),
    });
    return this.takeAt(keyOf(endpoint), endpointDetails(endpoint), endpoint, signal);
  }

  /** A login from the details gc found in the ledger; undefined when they name none. */
  takeRecorded(details: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<Login> | undefined {
    if (details.local === true) return this.takeAt('local', { local: true }, undefined, signal);
    const endpoint = endpointFromDetails(details);
    return endpoint ? this.takeAt(keyOf(endpoint), endpointDetails(endpoint), endpoint, signal) : undefined;
  }

  async letGo(login: Login): Promise<void> {
    if (--login.users > 0) return;
    this.open.delete(login.key);
    await login.close?.();
  }

  private async takeAt(
    key: string,
    details: Record<string, unknown>,
    endpoint: SshEndpoint | undefined,
    signal: AbortSignal,
  ): Promise<Login> {
    let opening = this.open.get(key);
    if (!opening) {
      opening = (async (): Promise<Login> => {
        if (!endpoint)
          return {
            key,
            cluster: new SlurmCluster(localShell()),
            details,
            user: os.userInfo().username,
            users: 0,
          };
        const connect = async (within: AbortSignal) =>
          watchClosed(await this.ctx.connector.connect(endpoint, within, { docker: false }));
        let current = await connect(signal);
        let reconnecting: Promise<SshSession> | undefined;
        const live = async (): Promise<SshSession> => {
          if (!isClosed(current)) return current;
          reconnecting ??= connect(AbortSignal.timeout(60_000)).finally(() => (reconnecting = undefined));
          return (current = await reconnecting);
        };
        return {
          key,
          cluster: new SlurmCluster(sshShell(key, live)),
          details,
          user: endpoint.user,
          users: 0,
          close: () => current.close(),
        };
      })();
      this.open.set(key, opening);
      opening.catch(() => this.open.delete(key));
    }
    const login = await opening;
    login.users++;
    return login;
  }
}

/**
 * How to reach a node of the cluster: the target's `ssh:` block at the node's address;
 * `{node}` in its dockerSocket is the node's name (nodes whose engines listen apart).
 */
export function nodeEndpoint(
  address: string,
  node: string,
  login: SshLoginOptions,
  agentSocket?: string,
): SshEndpoint {
  const endpoint = sshEndpoint(address, login, { user: 'root', ...(agentSocket ? { agentSocket } : {}) });
  return { ...endpoint, dockerSocket: endpoint.dockerSocket.replaceAll('{node}', node) };
}

function keyOf(e: SshEndpoint): string {
  return `${e.user}@${e.host}:${e.port}`;
}

/** Whether the connection is gone: `closed` has settled (checked without waiting). */
function isClosed(session: SshSession): boolean {
  return closedSessions.has(session);
}

const closedSessions = new WeakSet<SshSession>();

/** Remembers a session once its connection ends (see `isClosed`). */
function watchClosed(session: SshSession): SshSession {
  void session.closed.then(() => closedSessions.add(session));
  return session;
}
