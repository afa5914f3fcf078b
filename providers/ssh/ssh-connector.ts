/**
 * A machine's Docker engine over **one persistent SSH connection** (ssh2). Every Docker
 * API request opens a channel on that connection, forwarded to the engine's unix socket
 * on the machine (`direct-streamlocal@openssh.com`), so a request costs one round trip
 * instead of a new TCP + SSH handshake per request as with dockerode's `protocol: 'ssh'`.
 * The same connection carries the metrics agent's attach stream and `exec` commands.
 */
import Docker from 'dockerode';
import http from 'node:http';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { Client, type ConnectConfig } from 'ssh2';
import {
  InfrastructureError,
  InputError,
  systemClock,
  type Clock,
  type Logger,
  type ConnectOptions,
  type MachineConnector,
  type SshEndpoint,
  type SshSession,
} from '../../src/core/index.js';
import { verifyHostKey } from './known-hosts.js';

/** A dead connection is noticed after about interval × count. */
const KEEPALIVE_INTERVAL_MS = 5_000;
const KEEPALIVE_COUNT_MAX = 3;
const HANDSHAKE_TIMEOUT_MS = 20_000;
const RETRY_MS = 2_000;

export class Ssh2Connector implements MachineConnector {
  constructor(private readonly deps: { clock?: Clock; logger: Logger }) {}

  async connect(endpoint: SshEndpoint, signal: AbortSignal, opts: ConnectOptions = {}): Promise<SshSession> {
    const clock = this.deps.clock ?? systemClock;
    const deadline = clock.now() + (endpoint.readyTimeoutMs ?? 300_000);
    const where = `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
    const config = await connectConfig(endpoint);
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      try {
        const conn = await open(config, signal);
        const session = new Ssh2Session(conn, endpoint);
        opts.onSsh?.();
        try {
          if (opts.docker !== false) await waitForDocker(session, deadline, clock, signal);
          this.deps.logger.debug(`ssh: connected to ${where}`, { attempt });
          return session;
        } catch (err) {
          await session.close();
          throw err;
        }
      } catch (err) {
        signal.throwIfAborted();
        if (err instanceof HostKeyError) throw err;
        lastError = err;
        if (clock.now() + RETRY_MS > deadline) break;
        this.deps.logger.debug(`ssh: ${where} not ready (${(err as Error).message}), retrying`);
        await clock.sleep(RETRY_MS, signal);
      }
    }
    throw new InfrastructureError(
      `cannot reach ${opts.docker === false ? '' : 'the Docker engine of '}${where} over SSH: ${(lastError as Error)?.message ?? 'timed out'}`,
      { host: endpoint.host, dockerSocket: endpoint.dockerSocket },
      { cause: lastError },
    );
  }
}

class HostKeyError extends InfrastructureError {}

async function connectConfig(endpoint: SshEndpoint): Promise<ConnectConfig> {
  let privateKey: Buffer | undefined;
  if (endpoint.keyFile) {
    const file = endpoint.keyFile.replace(/^~(?=$|\/)/, os.homedir());
    privateKey = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new InputError(`cannot read SSH key file '${file}': ${err.code ?? err.message}`);
    });
  }
  if (!privateKey && !endpoint.agent)
    throw new InputError(
      `no SSH credentials for ${endpoint.user}@${endpoint.host}: set ssh.keyFile or ssh.agent in the target`,
    );
  const knownHosts = endpoint.knownHostsFile ?? path.join(os.homedir(), '.ssh', 'known_hosts');
  return {
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.user,
    ...(privateKey ? { privateKey } : {}),
    ...(endpoint.agent ? { agent: endpoint.agent } : {}),
    readyTimeout: HANDSHAKE_TIMEOUT_MS,
    keepaliveInterval: KEEPALIVE_INTERVAL_MS,
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    hostVerifier: endpoint.verifyHostKey
      ? (key: Buffer) => verifyHostKey(knownHosts, endpoint.host, endpoint.port, key)
      : () => true,
  };
}

function open(config: ConnectConfig, signal: AbortSignal): Promise<Client> {
  return new Promise((resolve, reject) => {
    const conn = new Client();
    const onAbort = () => {
      conn.end();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    conn
      .once('ready', () => {
        signal.removeEventListener('abort', onAbort);
        resolve(conn);
      })
      .once('error', (err: Error & { level?: string }) => {
        signal.removeEventListener('abort', onAbort);
        conn.end();
        if (/host key|hostkey|host denied/i.test(err.message) || err.level === 'client-hostkey')
          reject(
            new HostKeyError(
              `host key of ${config.host}:${config.port} is not in known_hosts (or does not match it); add it (ssh-keyscan), or set ssh.hostKeyCheck: off for throwaway machines`,
              { host: config.host },
            ),
          );
        else reject(err);
      })
      // Our own socket, with Nagle's algorithm off: every Docker API call is a small request
      // on a forwarded channel, and Nagle meeting delayed ACKs cost ~88 ms per call (1.4 ms
      // without), paid on every request to every remote machine.
      .connect({
        ...config,
        sock: net.connect({ host: config.host!, port: config.port ?? 22, noDelay: true }),
      });
  });
}

async function waitForDocker(session: Ssh2Session, deadline: number, clock: Clock, signal: AbortSignal) {
  for (;;) {
    try {
      await session.docker.ping();
      return;
    } catch (err) {
      signal.throwIfAborted();
      if (session.isClosed || clock.now() + RETRY_MS > deadline)
        throw new Error(
          `Docker at ${session.endpoint.dockerSocket} does not answer: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      await clock.sleep(RETRY_MS, signal);
    }
  }
}

/**
 * docker-modem formats every request's options with `util.inspect(…, { showHidden: true,
 * depth: null })` for its debug log, enabled or not (modem.js `buildRequest`). Through the
 * agent that walks the open channels and the whole ssh2 connection: about 1 ms of CPU per
 * Docker API call, two thirds of the controller's cost of a call. The agent prints as a name.
 */
class ChannelAgent extends http.Agent {
  constructor(private readonly host: string) {
    super();
  }

  [inspect.custom](): string {
    return `[Agent: Docker over SSH to ${this.host}]`;
  }
}

class Ssh2Session implements SshSession {
  readonly docker: Docker;
  readonly closed: Promise<void>;
  isClosed = false;
  private readonly agent: http.Agent;
  /** Open forwarded channels: failed when the connection dies (ssh2 leaves them hanging). */
  private readonly channels = new Set<NodeJS.ReadWriteStream>();

  constructor(
    private readonly conn: Client,
    readonly endpoint: SshEndpoint,
  ) {
    this.closed = new Promise((resolve) => {
      const done = () => {
        if (!this.isClosed) {
          this.isClosed = true;
          const lost = new Error(`SSH connection to ${endpoint.host} lost`);
          // ssh2's Channel.destroy() only sends a close on the (dead) connection and emits
          // nothing locally: fail each request in flight ourselves.
          for (const ch of this.channels) {
            if (ch.listenerCount('error') > 0) ch.emit('error', lost);
            ch.emit('close');
          }
          this.channels.clear();
        }
        resolve();
      };
      conn.once('close', done);
      conn.once('end', done);
    });
    conn.on('error', () => {}); // 'close' follows; requests in flight fail on their own
    this.agent = new ChannelAgent(endpoint.host);
    // One forwarded channel per HTTP request, all on the same connection.
    this.agent.createConnection = ((_opts: unknown, cb: (err: Error | null, stream?: unknown) => void) => {
      if (this.isClosed) {
        cb(new Error(`SSH connection to ${endpoint.host} is closed`));
        return undefined;
      }
      conn.openssh_forwardOutStreamLocal(endpoint.dockerSocket, (err, stream) => {
        if (err)
          return cb(new Error(`forwarding ${endpoint.dockerSocket} on ${endpoint.host}: ${err.message}`));
        const channel = stream as unknown as NodeJS.ReadWriteStream;
        this.channels.add(channel);
        stream.once('close', () => this.channels.delete(channel));
        cb(null, stream);
      });
      return undefined;
    }) as unknown as http.Agent['createConnection'];
    this.docker = new Docker({
      protocol: 'http',
      host: endpoint.host,
      port: 2375,
      agent: this.agent,
    } as Docker.DockerOptions);
  }

  exec(command: string, signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      this.conn.exec(command, (err, stream) => {
        if (err) return reject(err);
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        const onAbort = () => stream.close();
        signal?.addEventListener('abort', onAbort, { once: true });
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errOut.push(d));
        stream.once('close', (code: number | null) => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) return reject(signal.reason);
          resolve({
            code: code ?? -1,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
          });
        });
      });
    });
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.agent.destroy();
    this.conn.end();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2_000).unref())]);
    if (!this.isClosed) this.conn.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
