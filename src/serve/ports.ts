/**
 * What the web server reads and calls: a result reader (with the optional queries that
 * make live views cheap), the pools listing and the comparison. The CLI wires concrete
 * stores into these; src/serve imports no adapter of its own choosing.
 */
import type { Comparison } from '../analysis/index.js';
import type { ResultReader, StoredCell } from '../core/index.js';

export type { StoredCell };

/**
 * The store the server reads. Live views ask it for samples `since` a time and for a
 * run's stored cells (`listCells`); a store without `listCells` (Elasticsearch) shows a
 * run's cells once they have results.
 */
export type ServeReader = ResultReader;

/** GET /api/compare as the server understands it; validation is the callee's (InputError → 400). */
export interface CompareQuery {
  runs: string[];
  by: string;
  baseline?: string;
}

export type CompareFn = (q: CompareQuery) => Promise<Comparison>;

/** What `benchyard pool list --json` prints. */
export type PoolsFn = () => Promise<unknown> | unknown;
