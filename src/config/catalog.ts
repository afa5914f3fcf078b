/** Loads benchmark definitions from folders of `<name>/benchmark.yaml`. */
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  ConfigError,
  type BenchmarkCatalog,
  type BenchmarkDefinition,
  type Diagnostic,
} from '../core/index.js';
import { benchmarkSchema } from './benchmark-schema.js';
import { checkParamValue } from './params.js';
import { sortDiagnostics, zodDiagnostics } from './validate.js';
import { YamlSource, type PathSegment } from './yaml-source.js';
import type { z } from 'zod';

import { paramEnvName, PLACEHOLDER } from './placeholders.js';

export class MapCatalog implements BenchmarkCatalog {
  private readonly byName: Map<string, BenchmarkDefinition>;
  constructor(defs: readonly BenchmarkDefinition[]) {
    this.byName = new Map(defs.map((d) => [d.name, d]));
  }
  get(name: string) {
    return this.byName.get(name);
  }
  list() {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Every `*\/benchmark.yaml` under the given folders; a later folder's definition of a name wins. */
export async function loadCatalog(dirs: readonly string[]): Promise<MapCatalog> {
  const defs = new Map<string, BenchmarkDefinition>();
  const problems: Diagnostic[] = [];
  for (const dir of dirs) {
    const names = (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    for (const name of names.sort()) {
      const file = path.join(dir, name, 'benchmark.yaml');
      try {
        const def = parseBenchmark(await YamlSource.load(file));
        defs.set(def.name, def);
      } catch (err) {
        if (err instanceof ConfigError) problems.push(...err.diagnostics);
        else if ((err as Error).message.includes('no such file')) continue;
        else throw err;
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return new MapCatalog([...defs.values()]);
}

/**
 * A benchmark folder the user points to: `benchmark.yaml`, and optionally a Dockerfile
 * beside it, built when the definition names neither `image` nor `build`.
 */
export async function loadBenchmarkFolder(dir: string): Promise<BenchmarkDefinition> {
  const source = await YamlSource.load(path.join(dir, 'benchmark.yaml'));
  const hasDockerfile = await access(path.join(dir, 'Dockerfile')).then(
    () => true,
    () => false,
  );
  return parseBenchmark(source, hasDockerfile ? '.' : undefined);
}

/** A ref in a matrix that names a folder rather than a built-in benchmark. */
export function isFolderRef(ref: string): boolean {
  return ref.includes('/') || ref.startsWith('.');
}

export function parseBenchmark(source: YamlSource, defaultBuild?: string): BenchmarkDefinition {
  const value = source.value();
  const raw =
    defaultBuild !== undefined &&
    value &&
    typeof value === 'object' &&
    !('image' in value) &&
    !('build' in value)
      ? { ...value, build: defaultBuild }
      : value;
  const parsed = benchmarkSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(sortDiagnostics(zodDiagnostics(source, parsed.error, raw)));
  const def = toDefinition(parsed.data, path.dirname(source.file));
  const problems = definitionRules(source, def, []);
  if (problems.length > 0) throw new ConfigError(problems);
  return def;
}

export function toDefinition(d: z.output<typeof benchmarkSchema>, sourceDir: string): BenchmarkDefinition {
  const { timeout, image, build, primary, ...rest } = d;
  return {
    ...rest,
    scores: primaryFirst(d.scores, primary),
    image: image ?? `benchyard-build/${d.name}:latest`,
    ...(build !== undefined ? { build: path.resolve(sourceDir, build) } : {}),
    timeoutMs: timeout,
    source: sourceDir,
  };
}

/**
 * The declared primary score first: results keep their scores in declaration order, and
 * `compare` takes a cell's first score as its primary.
 */
export function primaryFirst<T extends { name: string }>(
  scores: readonly T[],
  primary: string | undefined,
): T[] {
  const first = scores.filter((s) => s.name === primary);
  return [...first, ...scores.filter((s) => s.name !== primary)];
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh']);

/**
 * Checks that need the whole definition: defaults fit their params, every placeholder
 * names a param, and no placeholder sits inside a shell script (params reach shell
 * scripts only as environment variables, never spliced into the text).
 */
export function definitionRules(
  source: YamlSource,
  d: BenchmarkDefinition,
  at: readonly PathSegment[],
): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const [name, spec] of Object.entries(d.params)) {
    const problem = spec.default === undefined ? undefined : checkParamValue(spec, spec.default);
    if (problem)
      problems.push(
        source.diagnostic([...at, 'params', name, 'default'], `default of '${name}': ${problem}`),
      );
  }
  const shell = SHELLS.has(path.basename(d.command[0] ?? ''));
  const script = shell ? d.command.indexOf('-c') + 1 : 0;
  d.command.forEach((arg, i) => {
    for (const m of arg.matchAll(PLACEHOLDER)) {
      if (!Object.hasOwn(d.params, m[1]!))
        problems.push(
          source.diagnostic([...at, 'command', i], `placeholder '{{${m[1]}}}' names no declared parameter`),
        );
      else if (script > 0 && i === script)
        problems.push(
          source.diagnostic(
            [...at, 'command', i],
            `'{{${m[1]}}}' inside a shell script: params are never spliced into shell text; use "$${paramEnvName(m[1]!)}"`,
          ),
        );
    }
  });
  return problems;
}
