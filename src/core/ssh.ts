/**
 * Machines reached over SSH: where one is (`SshEndpoint`, built from a target's `ssh:`
 * block by `sshEndpoint`), the persistent connection to its Docker engine (`SshSession`),
 * and the port that opens one (`MachineConnector`, adapter: `providers/ssh/ssh-connector.ts`).
 */
import type Docker from 'dockerode';

/** How to reach a machine over SSH. Secrets (key contents, passphrases) never leave the connector. */
export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  /** Private key file; read by the connector, never logged. */
  keyFile?: string;
  /** ssh-agent socket to authenticate with. */
  agent?: string;
  /** known_hosts file to verify the host key against; default ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  /** false only where the matrix opts out explicitly. */
  verifyHostKey: boolean;
  /** The Docker engine's socket on the machine. */
  dockerSocket: string;
  /** Give up connecting after this long (a machine still booting is retried until then). */
  readyTimeoutMs?: number;
}

/** A machine's Docker engine reached over one persistent SSH connection. */
export interface SshSession extends AsyncDisposable {
  readonly docker: Docker;
  readonly endpoint: SshEndpoint;
  /** Runs a command on the machine (not in a container); resolves with its output. */
  exec(command: string, signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Resolves when the connection is lost or closed. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export interface MachineConnector {
  /** Connects and (unless `docker: false`) waits until the Docker engine behind the endpoint answers. */
  connect(endpoint: SshEndpoint, signal: AbortSignal, opts?: ConnectOptions): Promise<SshSession>;
}

export interface ConnectOptions {
  /**
   * false: a shell is all that is needed (a Slurm login node has no Docker engine); the
   * session's `docker` is then not to be used.
   * @default true
   */
  docker?: boolean;
  /**
   * Told each time the SSH handshake succeeds, before the Docker engine is waited for: a
   * provider's provisioning timeline tells "SSH answers" from "Docker answers" with it.
   */
  onSsh?: () => void;
}

/** The `ssh:` block of a target (matrix), as validated by `src/config/targets/ssh.ts`. */
export interface SshLoginOptions {
  user?: string | undefined;
  port?: number | undefined;
  keyFile?: string | undefined;
  /** true: the controller's ssh-agent (`SSH_AUTH_SOCK`); a string: that socket. */
  agent?: boolean | string | undefined;
  knownHosts?: string | undefined;
  hostKeyCheck: 'strict' | 'off';
  dockerSocket: string;
  connectTimeoutMs: number;
}

/**
 * How to reach `host` with a target's SSH settings. `agent: true` means `defaults.agentSocket`
 * (`ProviderContext.sshAgentSocket`: the composition root reads `SSH_AUTH_SOCK`; core reads no
 * environment); without one, no agent.
 */
export function sshEndpoint(
  host: string,
  login: SshLoginOptions,
  defaults: { user: string; agentSocket?: string | undefined },
): SshEndpoint {
  const agent = login.agent === true ? defaults.agentSocket : login.agent || undefined;
  return {
    host,
    port: login.port ?? 22,
    user: login.user ?? defaults.user,
    ...(login.keyFile ? { keyFile: login.keyFile } : {}),
    ...(agent ? { agent } : {}),
    ...(login.knownHosts ? { knownHostsFile: login.knownHosts } : {}),
    verifyHostKey: login.hostKeyCheck !== 'off',
    dockerSocket: login.dockerSocket,
    readyTimeoutMs: login.connectTimeoutMs,
  };
}

/** What gc needs to reach a machine again, recorded in a ledger entry: the key file's path, never its contents. */
export function endpointDetails(e: SshEndpoint): Record<string, unknown> {
  return {
    host: e.host,
    port: e.port,
    user: e.user,
    ...(e.keyFile ? { keyFile: e.keyFile } : {}),
    ...(e.agent ? { agent: e.agent } : {}),
    ...(e.knownHostsFile ? { knownHostsFile: e.knownHostsFile } : {}),
    verifyHostKey: e.verifyHostKey,
    dockerSocket: e.dockerSocket,
  };
}

/** How to reach a machine again from what its ledger entry recorded (`endpointDetails`); undefined without a host. */
export function endpointFromDetails(d: Readonly<Record<string, unknown>>): SshEndpoint | undefined {
  if (typeof d.host !== 'string') return undefined;
  const text = (k: string) => (typeof d[k] === 'string' ? { [k]: d[k] as string } : {});
  return {
    host: d.host,
    port: Number(d.port ?? 22),
    user: String(d.user ?? 'root'),
    ...text('keyFile'),
    ...text('agent'),
    ...text('knownHostsFile'),
    verifyHostKey: d.verifyHostKey !== false,
    dockerSocket: String(d.dockerSocket ?? '/var/run/docker.sock'),
    readyTimeoutMs: 30_000,
  };
}
