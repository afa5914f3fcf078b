/**
 * Matrix → Plan: pure. Expands every entry's axes into cells (the product of all axes,
 * in declaration order), one cell per target, each with a stable content hash.
 */
import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import {
  InputError,
  plannedRepetitions,
  type BenchmarkCatalog,
  type HealthPolicy,
  type MatrixCell,
  type MetricsPolicy,
  type ParamValue,
  type Requirements,
  type RunOrder,
  type Shard,
} from '../core/index.js';
import { MAX_CELLS, paramEnv, primaryFirst, substitute, type Matrix } from '../config/index.js';

export interface Plan {
  matrixName: string;
  matrixFile: string;
  concurrency: number;
  /** In which order a target's repetitions run. */
  order: RunOrder;
  metricsIntervalMs: number;
  metrics: MetricsPolicy;
  /** When a repetition counts as run on unhealthy hardware; absent: the defaults. */
  health?: HealthPolicy;
  cells: readonly MatrixCell[];
  /** Total container runs: every cell's warmup and measured repetitions. */
  repetitions: number;
  /** Registry images go through, as this machine pushes to it (HOST:PORT). */
  registry?: string;
  /** Set when the plan is one shard of the matrix (`shardPlan`): the cells are that shard's. */
  shard?: Shard;
}

export function planMatrix(matrix: Matrix, catalog: BenchmarkCatalog): Plan {
  // Validation refuses such a matrix with its axes; this guards matrices built elsewhere.
  const count = matrix.entries.reduce(
    (n, e) =>
      n +
      Object.values(e.axes).reduce(
        (k, values) => k * values.length,
        matrix.targets.filter((t) => e.targets.includes(t.name)).length,
      ),
    0,
  );
  if (count > MAX_CELLS)
    throw new InputError(`the matrix expands to ${count} cells, above the limit of ${MAX_CELLS}`, {
      cells: count,
    });
  const cells: MatrixCell[] = [];
  for (const entry of matrix.entries) {
    const def = matrix.inline.find((d) => d.name === entry.benchmark) ?? catalog.get(entry.benchmark);
    // Validation guarantees this; a miss here is a programming error, not bad input.
    if (!def) throw new Error(`benchmark '${entry.benchmark}' vanished from the catalog`);
    const axes = Object.entries(def.params).map(
      ([name, spec]) =>
        [name, Object.hasOwn(entry.axes, name) ? entry.axes[name]! : [spec.default as ParamValue]] as const,
    );
    for (const target of matrix.targets.filter((t) => entry.targets.includes(t.name))) {
      const requires = entry.requires ?? def.requires;
      for (const params of product(axes)) {
        const argv = substitute(def.command, params);
        const identity = {
          benchmark: def.name,
          version: def.version,
          image: def.image,
          argv,
          params,
          network: def.network,
          target: { name: target.name, provider: target.provider, options: identityOptions(target.options) },
          // What the container gets is part of what it measures; nothing asked changes no id.
          ...(isEmpty(requires) ? {} : { requires }),
        };
        cells.push({
          id: cellId(identity),
          index: cells.length,
          entry: entry.name,
          benchmark: def.name,
          benchmarkVersion: def.version,
          target,
          params,
          image: def.image,
          argv,
          env: paramEnv(params),
          network: def.network,
          requires,
          repetitions: entry.repetitions ?? matrix.repetitions,
          warmup: entry.warmup ?? matrix.warmup,
          control: entry.control ?? matrix.control,
          ...((entry.adaptive ?? matrix.adaptive) ? { adaptive: entry.adaptive ?? matrix.adaptive } : {}),
          timeoutMs: entry.timeoutMs ?? def.timeoutMs,
          scores: primaryFirst(def.scores, entry.primary),
          artifacts: def.artifacts,
          ...(def.container ? { container: def.container } : {}),
          ...(entry.inputs !== undefined ? { inputs: entry.inputs } : {}),
          ...(def.build !== undefined ? { build: def.build } : {}),
        });
      }
    }
  }
  return {
    matrixName: matrix.name,
    matrixFile: matrix.file,
    concurrency: matrix.concurrency,
    order: matrix.order,
    metricsIntervalMs: matrix.metricsIntervalMs,
    metrics: matrix.metrics,
    health: matrix.health,
    ...(matrix.registry ? { registry: matrix.registry } : {}),
    cells,
    repetitions: cells.reduce((n, c) => n + plannedRepetitions(c), 0),
  };
}

/** 12 hex digits of sha256 over the canonical JSON of what makes a cell what it is. */
export function cellId(identity: unknown): string {
  return createHash('sha256')
    .update(stringify(identity) ?? '')
    .digest('hex')
    .slice(0, 12);
}

function* product(
  axes: readonly (readonly [string, readonly ParamValue[]])[],
): Generator<Record<string, ParamValue>> {
  if (axes.length === 0) return yield {};
  const [[name, values], ...rest] = axes as [readonly [string, readonly ParamValue[]], ...typeof axes];
  for (const value of values) for (const tail of product(rest)) yield { [name]: value, ...tail };
}

/**
 * The target options that say what a cell measures. How many machines run the target's
 * cells (`count`) does not: the same cell on 2 or 8 instances is the same cell.
 */
/**
 * A target's options without those that say how many machines, or how long and how often
 * they are looked at (`count`; a slurm target's `nodes`, `timeLimit`, `pollInterval`):
 * changing them changes no result.
 */
function identityOptions(options: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { count: _count, nodes: _nodes, timeLimit: _timeLimit, pollInterval: _poll, ...rest } = options;
  return rest;
}

function isEmpty(r: Requirements): boolean {
  return !r.gpu && !r.fpga && r.devices.length === 0 && r.deviceCgroupRules.length === 0 && !r.privileged;
}
