/**
 * The JSON paths a score may use: `$` followed by `.name`, `['name']`, `["name"]` or `[index]`
 * steps. Parsed into steps and walked here, never evaluated: a path is data, so
 * `$['(process.exit(7))']` is a key with that text, `$['a;b']` one key and `$['..']` the
 * key `..`. Only a document's own keys are read (`constructor` is not a key of `{}`).
 */

export type JsonPathStep = { key: string } | { index: number };

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*/;
const INDEX = /^\[(0|[1-9][0-9]{0,15})\]/;
const QUOTED = /^\[(?:'([^']*)'|"([^"]*)")\]/;

/** The steps of `path`, or why it is not a path benchyard reads. */
export function parseJsonPath(path: string): { steps: JsonPathStep[] } | { error: string } {
  if (!path.startsWith('$')) return { error: "a JSON path starts with '$'" };
  const steps: JsonPathStep[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    const at = path.length - rest.length;
    let m: RegExpExecArray | null;
    if (rest.startsWith('.') && (m = NAME.exec(rest.slice(1)))) {
      steps.push({ key: m[0] });
      rest = rest.slice(1 + m[0].length);
    } else if ((m = INDEX.exec(rest))) {
      const index = Number(m[1]);
      if (!Number.isSafeInteger(index)) return { error: `index too large at character ${at + 1}` };
      steps.push({ index });
      rest = rest.slice(m[0].length);
    } else if ((m = QUOTED.exec(rest))) {
      steps.push({ key: m[1] ?? m[2]! });
      rest = rest.slice(m[0].length);
    } else {
      return {
        error: `unexpected ${JSON.stringify(rest.slice(0, 12))} at character ${at + 1}: steps are .name, ['name'], ["name"] or [index]`,
      };
    }
  }
  return { steps };
}

/**
 * The value at `steps` in `doc`, or undefined where a step finds nothing. A path that
 * ends on an array gives its first element (as scores always have).
 */
export function readJsonPath(doc: unknown, steps: readonly JsonPathStep[]): unknown {
  let node = doc;
  for (const step of steps) {
    if ('index' in step) {
      if (!Array.isArray(node) || step.index >= node.length) return undefined;
      node = node[step.index];
    } else {
      if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, step.key))
        return undefined;
      node = (node as Record<string, unknown>)[step.key];
    }
  }
  return Array.isArray(node) ? node[0] : node;
}
