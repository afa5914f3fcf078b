/**
 * Matrix checks that need more than structure: benchmarks exist, params are declared and
 * in range, names are unique, entry targets exist. Works on the raw document so it can
 * report alongside structural errors in the same pass.
 */
import type { BenchmarkCatalog, Diagnostic } from '../core/index.js';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { BenchmarkDefinition } from '../core/index.js';
import { benchmarkSchema } from './benchmark-schema.js';
import { definitionRules, isFolderRef, toDefinition } from './catalog.js';
import { checkParamValue } from './params.js';
import type { YamlSource } from './yaml-source.js';

/** Problems reported per axis before the rest are counted. */
const MAX_VALUE_PROBLEMS = 3;

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export function matrixRules(
  source: YamlSource,
  doc: unknown,
  catalog: BenchmarkCatalog,
  folders: ReadonlyMap<string, BenchmarkDefinition> = new Map(),
): Diagnostic[] {
  if (!isObj(doc)) return [];
  const out: Diagnostic[] = [];
  const targets = Array.isArray(doc.targets) ? doc.targets : [];
  const targetNames = new Set<string>();
  uniqueNames(
    source,
    'targets',
    targets,
    (t) => (isObj(t) && typeof t.name === 'string' ? t.name : undefined),
    out,
  );
  for (const t of targets) if (isObj(t) && typeof t.name === 'string') targetNames.add(t.name);

  const entries = Array.isArray(doc.benchmarks) ? doc.benchmarks : [];
  uniqueNames(
    source,
    'benchmarks',
    entries,
    (e) => (isObj(e) ? (typeof e.name === 'string' ? e.name : benchmarkName(e.benchmark)) : undefined),
    out,
    "give each entry of the same benchmark a distinct 'name'",
  );

  const inlineNames = new Map<string, { def: BenchmarkDefinition; line: number }>();
  entries.forEach((entry, i) => {
    if (!isObj(entry)) return;
    const at = ['benchmarks', i];
    if (Array.isArray(entry.targets)) {
      entry.targets.forEach((t, j) => {
        if (typeof t === 'string' && !targetNames.has(t))
          out.push(
            source.diagnostic(
              [...at, 'targets', j],
              `unknown target '${t}' (targets: ${[...targetNames].join(', ')})`,
            ),
          );
      });
    }
    if (typeof entry.inputs === 'string') {
      const dir = path.resolve(path.dirname(path.resolve(source.file)), entry.inputs);
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
        out.push(source.diagnostic([...at, 'inputs'], `inputs: no such folder ${dir}`));
    }
    const def = resolveDefinition(
      source,
      entry.benchmark,
      [...at, 'benchmark'],
      catalog,
      folders,
      inlineNames,
      out,
    );
    if (!def) return;
    if (typeof entry.primary === 'string' && !def.scores.some((s) => s.name === entry.primary))
      out.push(
        source.diagnostic(
          [...at, 'primary'],
          `primary '${entry.primary}' is not a score of benchmark '${def.name}' (scores: ${def.scores.map((s) => s.name).join(', ') || 'none'})`,
        ),
      );
    const given = isObj(entry.params) ? entry.params : {};
    for (const [key, spec] of Object.entries(def.params)) {
      if (spec.default === undefined && !Object.hasOwn(given, key))
        out.push(
          source.diagnostic(at, `benchmark '${def.name}' needs parameter '${key}' (it has no default)`),
        );
    }
    for (const [key, value] of Object.entries(given)) {
      // Own keys only: `constructor` or `__proto__` must not find Object.prototype's.
      const spec = Object.hasOwn(def.params, key) ? def.params[key] : undefined;
      if (!spec) {
        const declared = Object.keys(def.params);
        out.push(
          source.diagnostic(
            [...at, 'params'],
            `parameter '${key}' is not declared by benchmark '${def.name}' (declared: ${declared.join(', ') || 'none'})`,
            key,
          ),
        );
        continue;
      }
      const values = Array.isArray(value) ? value : [value];
      if (Array.isArray(value) && value.length === 0)
        out.push(
          source.diagnostic([...at, 'params', key], `parameter '${key}': an axis needs at least one value`),
        );
      // An axis of thousands of bad values is one mistake: the first few, then a count.
      let bad = 0;
      values.forEach((v, j) => {
        const problem = checkParamValue(spec, v);
        if (!problem || ++bad > MAX_VALUE_PROBLEMS) return;
        const path = Array.isArray(value) ? [...at, 'params', key, j] : [...at, 'params', key];
        out.push(source.diagnostic(path, `parameter '${key}': ${problem}`));
      });
      if (bad > MAX_VALUE_PROBLEMS)
        out.push(
          source.diagnostic(
            [...at, 'params', key],
            `parameter '${key}': ${bad - MAX_VALUE_PROBLEMS} more values of the axis are invalid`,
          ),
        );
      if (Array.isArray(value) && new Set(value.map((v) => JSON.stringify(v))).size !== value.length)
        out.push(source.diagnostic([...at, 'params', key], `parameter '${key}': the axis repeats a value`));
    }
  });
  return out;
}

function uniqueNames(
  source: YamlSource,
  field: string,
  items: unknown[],
  nameOf: (item: unknown) => string | undefined,
  out: Diagnostic[],
  hint?: string,
): void {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const name = nameOf(item);
    if (name === undefined) return;
    const prev = first.get(name);
    if (prev === undefined) return void first.set(name, i);
    const line = source.lineOf([field, prev]);
    out.push(
      source.diagnostic(
        [field, i],
        `duplicate ${field === 'targets' ? 'target' : 'benchmark entry'} name '${name}' (first at line ${line})${hint ? `; ${hint}` : ''}`,
      ),
    );
  });
}

function benchmarkName(b: unknown): string | undefined {
  if (typeof b === 'string') return b;
  return isObj(b) && typeof b.name === 'string' ? b.name : undefined;
}

/** The definition an entry names (built-in) or carries (inline); reports why there is none. */
function resolveDefinition(
  source: YamlSource,
  raw: unknown,
  at: (string | number)[],
  catalog: BenchmarkCatalog,
  folders: ReadonlyMap<string, BenchmarkDefinition>,
  inlineNames: Map<string, { def: BenchmarkDefinition; line: number }>,
  out: Diagnostic[],
): BenchmarkDefinition | undefined {
  if (typeof raw === 'string' && isFolderRef(raw)) {
    // Problems loading it were reported by the loader, in the folder's own file.
    const def = folders.get(raw);
    if (def) checkUserName(source, def, at, catalog, inlineNames, out, false);
    return def;
  }
  if (typeof raw === 'string') {
    const def = catalog.get(raw);
    if (!def) {
      const known = catalog.list().map((d) => d.name);
      out.push(source.diagnostic(at, `unknown benchmark '${raw}' (known: ${known.join(', ')})`));
    }
    return def;
  }
  const parsed = benchmarkSchema.safeParse(raw);
  if (!parsed.success) return undefined; // the structural pass reports these
  const def = toDefinition(parsed.data, path.dirname(path.resolve(source.file)));
  checkUserName(source, def, at, catalog, inlineNames, out, true);
  out.push(...definitionRules(source, def, at));
  return def;
}

/** A user benchmark may not take a built-in's name, nor one another user benchmark has. */
function checkUserName(
  source: YamlSource,
  def: BenchmarkDefinition,
  at: (string | number)[],
  catalog: BenchmarkCatalog,
  seen: Map<string, { def: BenchmarkDefinition; line: number }>,
  out: Diagnostic[],
  inline: boolean,
): void {
  const where = inline ? [...at, 'name'] : at;
  const kind = inline ? 'inline benchmark' : `benchmark in ${def.source}`;
  if (catalog.get(def.name))
    out.push(
      source.diagnostic(where, `${kind} '${def.name}' has the name of a built-in one; choose another`),
    );
  const first = seen.get(def.name);
  // The same folder may serve several entries; two different definitions may not share a name.
  if (first && first.def !== def)
    out.push(
      source.diagnostic(where, `${kind} '${def.name}' is defined twice (first at line ${first.line})`),
    );
  if (!first) seen.set(def.name, { def, line: source.lineOf(at) ?? 0 });
}
