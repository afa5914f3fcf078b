/** matrix.yaml → validated `Matrix`, reporting every problem in one pass. */
import path from 'node:path';
import {
  ConfigError,
  type BenchmarkCatalog,
  type BenchmarkDefinition,
  type ParamValue,
  type TargetSpec,
} from '../core/index.js';
import { toDefinition } from './catalog.js';
import { matrixRules } from './matrix-rules.js';
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
  timeoutMs?: number;
  /** Target names this entry runs on. */
  targets: readonly string[];
}

export interface Matrix {
  file: string;
  name: string;
  repetitions: number;
  concurrency: number;
  metricsIntervalMs: number;
  targets: readonly TargetSpec[];
  entries: readonly MatrixEntry[];
  /** Benchmarks defined inline in the matrix. */
  inline: readonly BenchmarkDefinition[];
  elasticsearchUrl?: string;
}

export async function loadMatrix(file: string, catalog: BenchmarkCatalog): Promise<Matrix> {
  return validateMatrix(await YamlSource.load(file), catalog);
}

export function validateMatrix(source: YamlSource, catalog: BenchmarkCatalog): Matrix {
  const raw = source.value();
  if (raw === undefined || raw === null)
    throw new ConfigError([source.diagnostic([], 'the matrix file is empty')]);
  const parsed = matrixSchema.safeParse(raw);
  const problems = [
    ...(parsed.success ? [] : zodDiagnostics(source, parsed.error, raw)),
    ...matrixRules(source, raw, catalog),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(sortDiagnostics(problems));
  const doc = parsed.data;
  const allTargets = doc.targets.map((t) => t.name);
  const dir = path.dirname(path.resolve(source.file));
  const inline = doc.benchmarks.flatMap((e) =>
    typeof e.benchmark === 'string' ? [] : [toDefinition(e.benchmark, dir)],
  );
  return {
    file: path.resolve(source.file),
    name: doc.name,
    repetitions: doc.repetitions,
    concurrency: doc.concurrency,
    metricsIntervalMs: doc.metrics.interval,
    targets: doc.targets.map(({ name, provider, ...options }) => ({ name, provider, options })),
    entries: doc.benchmarks.map((e) => ({
      name: e.name ?? benchmarkName(e.benchmark),
      benchmark: benchmarkName(e.benchmark),
      axes: Object.fromEntries(
        Object.entries(e.params ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]),
      ),
      repetitions: e.repetitions,
      timeoutMs: e.timeout,
      targets: e.targets ?? allTargets,
    })),
    inline,
    elasticsearchUrl: doc.store?.elasticsearch?.url,
  };
}

function benchmarkName(b: string | { name: string }): string {
  return typeof b === 'string' ? b : b.name;
}
