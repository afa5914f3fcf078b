/**
 * `benchyard serve`: a JSON API over the stored runs and a single-page UI, on node:http.
 * Owns routing, authentication (auth.ts), security headers and the server's lifecycle;
 * the answers come from api.ts and live.ts. Only GET and HEAD exist.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BenchyardError,
  errorMessage,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
} from '../core/index.js';
import { RunsApi } from './api.js';
import { Gate } from './auth.js';
import { LiveHub, type LiveOptions } from './live.js';
import { APP_CSS, INDEX_HTML } from './page.js';
import type { CompareFn, PoolsFn, ServeReader } from './ports.js';
import { withoutLocalPaths } from './public-errors.js';
import { TREND_RUNS, TrendApi } from './trend-api.js';

export interface ServeOptions {
  /** Address to bind; anything but loopback needs a token. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 8080 */
  port?: number;
  /** Every request must carry it (Bearer header, or the cookie `?token=` sets). */
  token?: string;
  reader: ServeReader;
  /** What `benchyard pool list --json` prints. */
  pools: PoolsFn;
  /** The comparison `benchyard compare` prints; an InputError becomes 400. */
  compare: CompareFn;
  /** Files the page loads: the bundled UI (dist/web/app.js) and ECharts (echarts.min.js). */
  assets: { appJs: string; echartsJs: string };
  clock?: Clock;
  logger?: Logger;
  live?: LiveOptions;
  /**
   * Folders and files of this machine (the state folder, the package) that no error body
   * names; any other absolute path in one is hidden too.
   */
  localPaths?: readonly string[];
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, params: string[]) => Promise<void>;

export class WebServer {
  private readonly gate: Gate;
  private readonly api: RunsApi;
  private readonly trends: TrendApi;
  private readonly hub: LiveHub;
  private readonly logger: Logger;
  private readonly routes: [RegExp, Handler][];
  private readonly files = new Map<string, Promise<Buffer>>();
  private server: Server | undefined;
  private closing: Promise<void> | undefined;

  /** Checks the options (InputError: a reachable address without a token); binds nothing. */
  constructor(private readonly opts: ServeOptions) {
    this.gate = new Gate(opts.host ?? '127.0.0.1', opts.token);
    const clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    this.api = new RunsApi(opts.reader, clock);
    this.trends = new TrendApi(opts.reader);
    this.hub = new LiveHub(this.api, clock, this.logger, opts.live);
    this.routes = [
      [/^\/(?:index\.html)?$/, async (_q, res) => send(res, 200, 'text/html; charset=utf-8', INDEX_HTML)],
      [/^\/assets\/app\.css$/, async (_q, res) => send(res, 200, 'text/css; charset=utf-8', APP_CSS)],
      [/^\/assets\/app\.js$/, (_q, res) => this.asset(res, opts.assets.appJs)],
      [/^\/assets\/echarts\.min\.js$/, (_q, res) => this.asset(res, opts.assets.echartsJs)],
      [/^\/healthz$/, async (_q, res) => json(res, 200, { ok: true })],
      [/^\/api\/runs$/, async (_q, res) => json(res, 200, await this.api.list())],
      [/^\/api\/runs\/([^/]+)$/, (_q, res, _u, [id]) => this.run(res, id!)],
      [/^\/api\/runs\/([^/]+)\/live$/, (req, res, url, [id]) => this.live(req, res, url, id!)],
      [/^\/api\/runs\/([^/]+)\/charts$/, (_q, res, _u, [id]) => this.charts(res, id!)],
      [/^\/api\/tags$/, async (_q, res) => json(res, 200, await this.trends.tags())],
      [/^\/api\/trend$/, (_q, res, url) => this.trend(res, url)],
      [/^\/api\/compare$/, (_q, res, url) => this.compare(res, url)],
      [/^\/api\/pools$/, async (_q, res) => json(res, 200, await opts.pools())],
    ];
  }

  /** Starts listening; the URL it answers on. */
  async listen(): Promise<string> {
    const server = createServer((req, res) =>
      this.handle(req, res).catch((err: unknown) => {
        this.logger.error(`${req.method} ${req.url?.split('?')[0]}: ${errorMessage(err)}`);
        res.destroy();
      }),
    );
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 8080, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return this.url;
  }

  get url(): string {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    if (!addr) throw new Error('the server is not listening');
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return `http://${host}:${addr.port}/`;
  }

  /** Ends the live streams and open connections, then stops listening. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.hub.close();
      const server = this.server;
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return this.fail(res, 400, 'bad request URL');
    }
    // The path only: a query may hold the token.
    this.logger.debug(`${req.method} ${url.pathname}`);
    const auth = this.gate.check(req, url);
    if (!auth.ok) {
      if (auth.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="benchyard"');
      return this.fail(res, auth.status, auth.message);
    }
    if ('setCookie' in auth) {
      res.writeHead(303, {
        'Set-Cookie': auth.setCookie,
        Location: auth.location,
        'Cache-Control': 'no-store',
      });
      return void res.end();
    }
    const route = this.routes.find(([re]) => re.test(url.pathname));
    if (!route) return this.fail(res, 404, 'no such path');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return this.fail(res, 405, `method ${req.method} not allowed (GET, HEAD)`);
    }
    try {
      const params = route[0].exec(url.pathname)!.slice(1).map(decodeURIComponent);
      await route[1](req, res, url, params);
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      if (err instanceof URIError) return this.fail(res, 400, 'bad request URL');
      if (err instanceof BenchyardError && err.kind === 'input') return this.fail(res, 400, err.message);
      this.logger.error(`${req.method} ${url.pathname}: ${errorMessage(err)}`);
      this.fail(res, 500, 'internal error (see the server log)');
    }
  }

  /** An error body: what went wrong, never where on this machine (the log has the detail). */
  private fail(res: ServerResponse, status: number, message: string): void {
    json(res, status, { error: withoutLocalPaths(message, this.opts.localPaths) });
  }

  private async run(res: ServerResponse, id: string): Promise<void> {
    const detail = await this.api.detail(id);
    if (!detail) return this.fail(res, 404, `no run '${id}'`);
    json(res, 200, detail);
  }

  private async charts(res: ServerResponse, id: string): Promise<void> {
    const charts = await this.api.charts(id);
    if (!charts) return this.fail(res, 404, `no run '${id}'`);
    json(res, 200, charts);
  }

  /** `?tag=<tag>[&runs=<n>]`: the tag's newest n runs (default 30, at most 200). */
  private async trend(res: ServerResponse, url: URL): Promise<void> {
    const tag = url.searchParams.get('tag');
    if (!tag) return this.fail(res, 400, "'tag' is required: the runs' tag (GET /api/tags lists them)");
    const runsText = url.searchParams.get('runs') ?? String(TREND_RUNS);
    const runs = Number(runsText);
    if (!/^\d+$/.test(runsText) || runs < 2 || runs > 200)
      return this.fail(res, 400, `'runs' must be a whole number from 2 to 200, not '${runsText}'`);
    json(res, 200, await this.trends.trend(tag, runs));
  }

  /** `?samples=0`: no metric samples (progress only). */
  private async live(req: IncomingMessage, res: ServerResponse, url: URL, id: string): Promise<void> {
    if (req.method === 'HEAD') {
      if (!(await this.opts.reader.getRun(id))) return this.fail(res, 404, `no run '${id}'`);
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
      return void res.end();
    }
    const samples = url.searchParams.get('samples') !== '0';
    if (!(await this.hub.attach(id, res, { samples }))) this.fail(res, 404, `no run '${id}'`);
  }

  private async compare(res: ServerResponse, url: URL): Promise<void> {
    const by = url.searchParams.get('by');
    if (!by) return this.fail(res, 400, "'by' is required: the axis to compare along");
    const baseline = url.searchParams.get('baseline');
    const comparison = await this.opts.compare({
      runs: url.searchParams.getAll('run').filter((r) => r !== ''),
      by,
      ...(baseline ? { baseline } : {}),
    });
    json(res, 200, comparison);
  }

  private async asset(res: ServerResponse, file: string): Promise<void> {
    let body = this.files.get(file);
    if (!body) {
      body = readFile(file);
      this.files.set(file, body);
      body.catch(() => this.files.delete(file));
    }
    try {
      send(res, 200, 'text/javascript; charset=utf-8', await body, 'max-age=300');
    } catch (err) {
      this.logger.error(`${file}: ${errorMessage(err)}`);
      this.fail(
        res,
        503,
        'the web UI is not built: run npm run build (the server log names the missing file)',
      );
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  cache = 'no-store',
): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': cache,
  });
  res.end(body);
}
