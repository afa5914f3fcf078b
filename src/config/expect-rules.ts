/**
 * `expect:` checks that need the benchmarks: the score exists (on an entry: its benchmark's;
 * on a target: some benchmark that runs there), an entry's `target:` is one of its targets,
 * and one expectation per score and target. Works on the raw document, like matrixRules,
 * so these are reported in the same pass as structural errors.
 */
import type { BenchmarkCatalog, BenchmarkDefinition, Diagnostic } from '../core/index.js';
import { isFolderRef } from './catalog.js';
import type { YamlSource } from './yaml-source.js';

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function expectRules(
  source: YamlSource,
  doc: unknown,
  catalog: BenchmarkCatalog,
  folders: ReadonlyMap<string, BenchmarkDefinition>,
): Diagnostic[] {
  if (!isObj(doc)) return [];
  const out: Diagnostic[] = [];
  const allTargets = list(doc.targets).flatMap((t) => (isObj(t) && str(t.name) ? [t.name as string] : []));
  const entries = list(doc.benchmarks).filter(isObj);
  const targetsOf = (e: Raw) =>
    Array.isArray(e.targets) ? e.targets.flatMap((t) => str(t) ?? []) : allTargets;
  /** The entry's score names; undefined where its benchmark is unknown (reported elsewhere). */
  const scoresOf = (e: Raw): string[] | undefined => {
    const b = e.benchmark;
    if (isObj(b)) return list(b.scores).flatMap((s) => (isObj(s) && str(s.name) ? [s.name as string] : []));
    if (typeof b !== 'string') return undefined;
    return (isFolderRef(b) ? folders.get(b) : catalog.get(b))?.scores.map((s) => s.name);
  };
  /** Each expectation object with its path: a single one is written as an object, a list as an array. */
  const expectations = (base: (string | number)[], v: unknown): [Raw, (string | number)[]][] => {
    const pairs: [unknown, (string | number)[]][] = Array.isArray(v)
      ? v.map((x, j) => [x, [...base, 'expect', j]])
      : [[v, [...base, 'expect']]];
    return pairs.filter(
      (pair): pair is [Raw, (string | number)[]] => isObj(pair[0]) && typeof pair[0].score === 'string',
    );
  };

  list(doc.benchmarks).forEach((e, i) => {
    if (!isObj(e) || e.expect === undefined) return;
    const scores = scoresOf(e);
    const targets = targetsOf(e);
    const seen = new Set<string>();
    for (const [x, at] of expectations(['benchmarks', i], e.expect)) {
      const score = x.score as string;
      const target = str(x.target);
      if (scores && !scores.includes(score))
        out.push(
          source.diagnostic(
            [...at, 'score'],
            `expect: '${score}' is not a score of this benchmark (scores: ${scores.join(', ') || 'none'})`,
          ),
        );
      if (target !== undefined && !targets.includes(target))
        out.push(
          source.diagnostic(
            [...at, 'target'],
            `expect: the entry does not run on target '${target}' (its targets: ${targets.join(', ')})`,
          ),
        );
      const key = JSON.stringify([score, target ?? null]);
      if (seen.has(key))
        out.push(
          source.diagnostic(
            [...at, 'score'],
            `expect: a second expectation for '${score}'${target ? ` on '${target}'` : ''}: give one per score and target`,
          ),
        );
      seen.add(key);
    }
  });

  list(doc.targets).forEach((t, i) => {
    if (!isObj(t) || t.expect === undefined || !str(t.name)) return;
    const here = entries.filter((e) => targetsOf(e).includes(t.name as string));
    const scores = here.map(scoresOf);
    const known = [...new Set(scores.flatMap((s) => s ?? []))];
    const seen = new Set<string>();
    for (const [x, at] of expectations(['targets', i], t.expect)) {
      const score = x.score as string;
      if (!scores.includes(undefined) && !known.includes(score))
        out.push(
          source.diagnostic(
            [...at, 'score'],
            `expect: no benchmark on target '${t.name as string}' has a score '${score}' (scores here: ${known.join(', ') || 'none'})`,
          ),
        );
      if (seen.has(score))
        out.push(
          source.diagnostic(
            [...at, 'score'],
            `expect: a second expectation for '${score}' on this target: give one per score`,
          ),
        );
      seen.add(score);
    }
  });
  return out;
}
