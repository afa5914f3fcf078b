/**
 * The adapters of `benchyard run`, wired into src/run's ports: the embedded store and
 * Elasticsearch, the providers, the controller's Docker engine, the metrics of a machine,
 * the terminal.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { systemClock } from '../core/index.js';
import type { Matrix } from '../config/index.js';
import { storeEventSink } from '../events/index.js';
import type { RunDeps, RunStores } from '../run/index.js';
import {
  ArtifactDir,
  DB_FILE,
  ElasticsearchReader,
  ElasticsearchStore,
  FanoutStore,
  SqliteStore,
} from '../store/index.js';
import type { CliIo } from './io.js';
import { machineMonitor } from './monitors.js';
import { createProgress } from './progress.js';
import { providerSet } from './providers.js';

export interface RunWiring {
  state: string;
  /** Where the run also writes (`--es`, else the matrix's `store.elasticsearch.url`). */
  esUrl: string | undefined;
  matrix: Matrix;
  maxLifetimeMs: number;
  prices?: readonly string[];
}

export function runDeps(w: RunWiring, io: CliIo): RunDeps {
  const notice = (line: string) => io.stderr(`${line}\n`);
  // Images and the metrics agent reach remote machines from this engine.
  const controllerDocker = new Docker();
  return {
    clock: systemClock,
    logger: io.logger,
    signal: io.signal,
    notice,
    progress: (repetitions) => createProgress(repetitions, { interactive: io.interactive, write: io.stderr }),
    history: {
      // Nothing is created where the folder holds no store yet.
      state: () => (existsSync(path.join(w.state, DB_FILE)) ? new SqliteStore(w.state) : undefined),
      elasticsearch: (url) => new ElasticsearchReader(url),
    },
    openStores: () => openStores(w, io),
    openProviders: () =>
      providerSet({
        state: w.state,
        logger: io.logger,
        maxLifetimeMs: w.maxLifetimeMs,
        ...(w.prices ? { prices: w.prices } : {}),
        progress: notice,
      }),
    scheduling: {
      imageSource: controllerDocker,
      monitor: (machine, sink, m) =>
        machineMonitor(machine, sink, { ...m, logger: io.logger, imageSource: controllerDocker }),
    },
  };
}

async function openStores(w: RunWiring, io: CliIo): Promise<RunStores> {
  const es = w.esUrl
    ? await ElasticsearchStore.connect({
        url: w.esUrl,
        ...definedOnly(w.matrix.elasticsearch ?? {}),
        spoolRoot: path.join(w.state, 'spool'),
        logger: io.logger,
      })
    : undefined;
  let sqlite: SqliteStore;
  try {
    sqlite = new SqliteStore(w.state);
  } catch (err) {
    await es?.close().catch(() => undefined);
    throw err;
  }
  const store = new FanoutStore(sqlite, es ? [es] : [], io.logger);
  return {
    store,
    // The artifact folder is the state folder's too: a full disk there stops the store.
    artifacts: new ArtifactDir(path.join(w.state, 'artifacts'), { onFault: (f) => sqlite.fail(f) }),
    eventSinks: { sqlite: storeEventSink(sqlite), ...(es ? { elasticsearch: storeEventSink(es) } : {}) },
    health: sqlite,
    close: () => store.close(),
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
