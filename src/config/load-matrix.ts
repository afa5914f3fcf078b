/** matrix.yaml → validated `Matrix`, reporting every problem in one pass. */
import path from 'node:path';
import type { HealthPolicy, MetricsPolicy, Requirements } from '../core/index.js';
import type { WebhookConfig } from '../events/index.js';
import {
  ConfigError,
  errorMessage,
  type BenchmarkCatalog,
  type BenchmarkDefinition,
  type Diagnostic,
  type ParamValue,
  type AdaptivePolicy,
  type RunOrder,
  type TargetSpec,
} from '../core/index.js';
import { isFolderRef, loadBenchmarkFolder, toDefinition } from './catalog.js';
import { expectRules } from './expect-rules.js';
import { expectationsOf, type Expectation } from './expect-schema.js';
import { healthPolicy } from './health-schema.js';
import { matrixRules } from './matrix-rules.js';
import { matrixSizeProblems } from './matrix-size.js';
import { matrixSchema } from './matrix-schema.js';
import { sortDiagnostics, zodDiagnostics } from './validate.js';
import { YamlSource } from './yaml-source.js';

export interface MatrixEntry {
  /** Entry label, unique in the matrix. */
  name: string;
  benchmark: string;
  /** Every param given in the matrix as an axis (a scalar is an axis of one). */
  axes: Readonly<Record<string, readonly ParamValue[]>>;
  repetitions?: number;
  warmup?: number;
  control?: number;
  adaptive?: AdaptivePolicy;
  timeoutMs?: number;
  /** Absolute folder mounted read-only at /in. */
  inputs?: string;
  /** Target names this entry runs on. */
  targets: readonly string[];
  /** Replaces the benchmark's `requires`. */
  requires?: Requirements;
  /** The score comparisons decide on; replaces the benchmark's `primary`. */
  primary?: string;
}

export interface Matrix {
  file: string;
  name: string;
  repetitions: number;
  warmup: number;
  control: number;
  adaptive?: AdaptivePolicy;
  concurrency: number;
  /** In which order a target's repetitions run (see `RunOrder`). */
  order: RunOrder;
  metricsIntervalMs: number;
  metrics: MetricsPolicy;
  /** When a repetition counts as run on unhealthy hardware (the `health:` block). */
  health: HealthPolicy;
  targets: readonly TargetSpec[];
  entries: readonly MatrixEntry[];
  /** Benchmarks defined inline in the matrix. */
  inline: readonly BenchmarkDefinition[];
  elasticsearchUrl?: string;
  /** Registry images are pushed to and pulled from by digest (`images.registry`). */
  registry?: string;
  /** Endpoints told about container events (the matrix's `events.webhooks`). */
  webhooks: readonly WebhookConfig[];
  /** Reference values of scores (`expect:` on entries and targets), entries' first. */
  expectations: readonly Expectation[];
  /** How metrics are sent to Elasticsearch (when it is configured). */
  elasticsearch?: { flushIntervalMs?: number; maxMemoryBytes?: number; lookBack?: string };
}

export async function loadMatrix(file: string, catalog: BenchmarkCatalog): Promise<Matrix> {
  const source = await YamlSource.load(file);
  return validateMatrix(source, catalog, await loadFolders(source));
}

/** Benchmarks the matrix names by folder (`benchmark: ./bench/x`), keyed by that ref. */
export interface FolderBenchmarks {
  defs: ReadonlyMap<string, BenchmarkDefinition>;
  /** Problems in the folders' own files, or refs that could not be loaded. */
  problems: readonly Diagnostic[];
}

async function loadFolders(source: YamlSource): Promise<FolderBenchmarks> {
  const defs = new Map<string, BenchmarkDefinition>();
  const problems: Diagnostic[] = [];
  const raw = source.value() as { benchmarks?: unknown } | undefined;
  const entries = Array.isArray(raw?.benchmarks) ? raw.benchmarks : [];
  const base = path.dirname(path.resolve(source.file));
  for (const [i, entry] of entries.entries()) {
    const ref = (entry as { benchmark?: unknown } | null)?.benchmark;
    if (typeof ref !== 'string' || !isFolderRef(ref) || defs.has(ref)) continue;
    try {
      defs.set(ref, await loadBenchmarkFolder(path.resolve(base, ref)));
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.diagnostics);
      else
        problems.push(
          source.diagnostic(
            ['benchmarks', i, 'benchmark'],
            `cannot load benchmark folder '${ref}': ${errorMessage(err)}`,
          ),
        );
    }
  }
  return { defs, problems };
}

export function validateMatrix(
  source: YamlSource,
  catalog: BenchmarkCatalog,
  folders: FolderBenchmarks = { defs: new Map(), problems: [] },
): Matrix {
  const raw = source.value();
  if (raw === undefined || raw === null)
    throw new ConfigError([source.diagnostic([], 'the matrix file is empty')]);
  const parsed = matrixSchema.safeParse(raw);
  const problems = [
    ...(parsed.success ? [] : zodDiagnostics(source, parsed.error, raw)),
    ...matrixRules(source, raw, catalog, folders.defs),
    ...matrixSizeProblems(source, raw),
    ...folders.problems,
    ...expectRules(source, raw, catalog, folders.defs),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(sortDiagnostics(problems));
  const doc = parsed.data;
  const allTargets = doc.targets.map((t) => t.name);
  const dir = path.dirname(path.resolve(source.file));
  const inline = doc.benchmarks.flatMap((e) =>
    typeof e.benchmark !== 'string'
      ? [toDefinition(e.benchmark, dir)]
      : folders.defs.has(e.benchmark)
        ? [folders.defs.get(e.benchmark)!]
        : [],
  );
  const nameOf = (b: string | { name: string }) =>
    typeof b === 'string' ? (folders.defs.get(b)?.name ?? b) : b.name;
  return {
    file: path.resolve(source.file),
    name: doc.name,
    repetitions: doc.repetitions,
    warmup: doc.warmup,
    control: doc.control,
    ...(doc.adaptive ? { adaptive: adaptivePolicy(doc.adaptive) } : {}),
    concurrency: doc.concurrency,
    order: doc.order,
    metricsIntervalMs: doc.metrics.interval,
    metrics: {
      quiet: doc.metrics.quiet,
      collector: doc.metrics.collector,
      host: doc.metrics.host,
      gpu: doc.metrics.gpu,
    },
    health: healthPolicy(doc.health),
    targets: doc.targets.map(
      // `expect` is not the provider's, and not part of a cell's identity.
      ({ name, provider, idleRelease, registry, hourlyPrice, shareEngine, expect: _expect, ...options }) => ({
        name,
        provider,
        options,
        shareEngine: shareEngine ?? doc.shareEngine,
        ...(idleRelease !== undefined ? { idleReleaseMs: idleRelease } : {}),
        ...(hourlyPrice !== undefined ? { hourlyPriceUsd: hourlyPrice } : {}),
        ...(registry !== undefined ? { registry } : {}),
      }),
    ),
    ...(doc.images ? { registry: doc.images.registry } : {}),
    entries: doc.benchmarks.map((e) => ({
      name: e.name ?? nameOf(e.benchmark),
      benchmark: nameOf(e.benchmark),
      axes: Object.fromEntries(
        Object.entries(e.params ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]),
      ),
      repetitions: e.repetitions,
      warmup: e.warmup,
      control: e.control,
      ...(e.adaptive ? { adaptive: adaptivePolicy(e.adaptive) } : {}),
      timeoutMs: e.timeout,
      ...(e.inputs !== undefined ? { inputs: path.resolve(dir, e.inputs) } : {}),
      targets: e.targets ?? allTargets,
      ...(e.requires ? { requires: e.requires } : {}),
      ...(e.primary !== undefined ? { primary: e.primary } : {}),
    })),
    inline,
    elasticsearchUrl: doc.store?.elasticsearch?.url,
    webhooks: doc.events?.webhooks ?? [],
    expectations: expectationsOf({
      targets: doc.targets,
      entries: doc.benchmarks.map((e) => ({ name: e.name ?? nameOf(e.benchmark), expect: e.expect })),
    }),
    ...(doc.store?.elasticsearch
      ? {
          elasticsearch: {
            flushIntervalMs: doc.store.elasticsearch.flushInterval,
            maxMemoryBytes: doc.store.elasticsearch.memoryLimit,
            lookBack: doc.store.elasticsearch.lookBack,
          },
        }
      : {}),
  };
}

function adaptivePolicy(a: { cov: number; max: number; budget: number }): AdaptivePolicy {
  return { maxCovPct: a.cov, maxRepetitions: a.max, budgetMs: a.budget };
}
