/**
 * `benchyard serve`: the web UI and JSON API over the stored runs (live while they run),
 * the comparison `compare` prints, and the pools `pool list` shows. Runs until SIGINT or
 * SIGTERM.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../core/index.js';
import { checkExposure, WebServer } from '../../serve/index.js';
import { ElasticsearchReader, SqliteStore } from '../../store/index.js';
import { axisOption, compareSelection, selectRuns } from '../compare-input.js';
import type { CliIo } from '../io.js';
import { PACKAGE_ROOT } from '../paths.js';
import { listPools } from '../../pool/index.js';

export interface ServeCliOptions {
  port: string;
  host: string;
  token?: string;
  /** Where the token came from (commander's option value source): `cli` is visible in `ps`. */
  tokenFrom?: string | undefined;
  state: string;
  es?: string;
}

export async function serveCommand(opts: ServeCliOptions, io: CliIo): Promise<void> {
  const port = parsePort(opts.port);
  // Before any store is opened: a reachable address needs a token.
  checkExposure(opts.host, opts.token);
  if (opts.token !== undefined && opts.tokenFrom === 'cli')
    io.stderr(
      'warning: a --token on the command line is visible to every user of this machine (ps, /proc/<pid>/cmdline) and stays in the shell history: set BENCHYARD_TOKEN instead\n',
    );
  // Named in error bodies, so by what it is rather than where it is.
  const where = opts.es ? 'Elasticsearch' : 'the state folder';
  // The embedded store is made if it does not exist yet: the UI shows runs as they start.
  const reader = opts.es ? new ElasticsearchReader(opts.es) : new SqliteStore(opts.state);
  try {
    const web = new WebServer({
      host: opts.host,
      port,
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      reader,
      pools: () => listPools(opts.state),
      compare: async (q) => {
        const by = axisOption(q.by);
        return compareSelection(await selectRuns(reader, q.runs, where), by, q.baseline);
      },
      assets: {
        appJs: path.join(PACKAGE_ROOT, 'dist/web/app.js'),
        echartsJs: createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'),
      },
      logger: io.logger,
      localPaths: [
        opts.state,
        path.resolve(opts.state),
        PACKAGE_ROOT,
        process.cwd(),
        os.homedir(),
        os.tmpdir(),
      ].filter((p) => p !== '/'),
    });
    let url: string;
    try {
      url = await web.listen();
    } catch (err) {
      throw new InputError(
        `cannot listen on ${opts.host}:${port}: ${(err as Error).message}`,
        { host: opts.host, port },
        { cause: err },
      );
    }
    io.stderr(`benchyard serve: ${url}\n`);
    if (opts.token !== undefined)
      io.stderr(
        'every request needs the token: Authorization: Bearer <token>, or open the URL with ?token=<token>\n',
      );
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) return resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await web.close();
    io.stderr('benchyard serve: stopped\n');
  } finally {
    await reader.close();
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw new InputError(`--port: '${text}' is not a port (0-65535; 0 picks a free one)`);
  return port;
}
