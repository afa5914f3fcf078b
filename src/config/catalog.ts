/** Loads benchmark definitions from folders of `<name>/benchmark.yaml`. */
import { readdir } from 'node:fs/promises';
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
import { YamlSource } from './yaml-source.js';

import { PLACEHOLDER } from './placeholders.js';

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

export function parseBenchmark(source: YamlSource): BenchmarkDefinition {
  const raw = source.value();
  const parsed = benchmarkSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(sortDiagnostics(zodDiagnostics(source, parsed.error, raw)));
  const d = parsed.data;
  const problems: Diagnostic[] = [];
  for (const [name, spec] of Object.entries(d.params)) {
    const problem = spec.default === undefined ? undefined : checkParamValue(spec, spec.default);
    if (problem)
      problems.push(source.diagnostic(['params', name, 'default'], `default of '${name}': ${problem}`));
  }
  d.command.forEach((arg, i) => {
    for (const m of arg.matchAll(PLACEHOLDER)) {
      if (!(m[1]! in d.params))
        problems.push(
          source.diagnostic(['command', i], `placeholder '{{${m[1]}}}' names no declared parameter`),
        );
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...d, timeoutMs: d.timeout, source: path.dirname(source.file) };
}
