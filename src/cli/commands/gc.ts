/**
 * `benchyard gc`: what crashed or killed controllers left behind, destroyed and confirmed
 * gone (src/gc says how). `--forget KEY` closes an entry that provably never reached its
 * provider.
 */
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { endpointFromDetails, systemClock } from '../../core/index.js';
import { collectGarbage, forget, gcFailure, type GcReport, type GcRequest } from '../../gc/index.js';
import { SqliteStore } from '../../store/index.js';
import { dataTable } from '../../report/index.js';
import type { CliIo } from '../io.js';
import { providerSet } from '../providers.js';

export interface GcOptions extends GcRequest {
  state: string;
  json?: boolean;
  /** A ledger key to close once its provider provably holds nothing of it. */
  forget?: string;
}

export async function gcCommand(opts: GcOptions, io: CliIo): Promise<void> {
  const set = await providerSet({ state: opts.state, logger: io.logger, maxLifetimeMs: 3_600_000 });
  let report: GcReport;
  try {
    report =
      opts.forget !== undefined
        ? { rows: [await forget(opts.forget, set, io.signal)], failures: 0 }
        : await collectGarbage(
            opts,
            {
              ledger: set.ledger,
              providers: set.providers,
              leases: set.leases,
              openRuns: () => new SqliteStore(opts.state),
              localEngine: () => (localEngineExpected() ? new Docker() : undefined),
              sshEndpoint: endpointFromDetails,
              connect: (endpoint, signal) => set.connector.connect(endpoint, signal),
              clock: systemClock,
            },
            io.signal,
          );
  } finally {
    set.close();
  }
  const { rows } = report;
  if (opts.json) io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) io.stdout('gc: nothing left behind\n');
  else
    io.stdout(
      `${dataTable(
        ['provider', 'kind', 'id', 'session', 'action'],
        rows.map((r) => [r.provider, r.kind, r.id, r.session, r.action]),
        io.columns,
      )}\n`,
    );
  const failure = gcFailure(report);
  if (failure) throw failure;
}

/** This machine runs a Docker engine benchyard could have used (its socket, or DOCKER_HOST). */
function localEngineExpected(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}
