/**
 * Checks on a parsed YAML document that the yaml library leaves to `toJS` (where an alias
 * to a missing anchor throws) or lets through (an alias inside the node it names becomes
 * cyclic data; an alias bomb becomes a small graph that any walk over it expands
 * exponentially; duplicate keys, which its own check finds in quadratic time). One walk in
 * document order that never recurses deeper than MAX_DEPTH + 1, so it cannot overflow the
 * stack, and a clean result means the data is finite, acyclic and bounded in size.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import { MAX_ALIASES, MAX_DEPTH, MAX_EXPANDED_NODES } from './limits.js';

export interface StructureProblem {
  /** Character offset in the source text. */
  offset: number;
  message: string;
}

interface Extent {
  /** Nodes once aliases are expanded. */
  size: number;
  /** Collections on the deepest path once aliases are expanded. */
  height: number;
}

export function structureProblems(doc: Document): StructureProblem[] {
  const out: StructureProblem[] = [];
  const anchors = new Map<string, Node>();
  const extents = new Map<Node, Extent>();
  const ancestors: Node[] = [];
  let aliases = 0;
  let expanded = 0;
  let bombReported = false;
  const at = (node: unknown) => (node as Node | undefined)?.range?.[0] ?? 0;
  const count = (n: number, node: unknown) => {
    expanded += n;
    if (expanded > MAX_EXPANDED_NODES && !bombReported) {
      bombReported = true;
      out.push({
        offset: at(node),
        message: `YAML: aliases expand the document beyond ${MAX_EXPANDED_NODES.toLocaleString('en-US')} values (an alias bomb?)`,
      });
    }
  };

  const walk = (node: unknown, depth: number): Extent => {
    if (isAlias(node)) {
      if (++aliases > MAX_ALIASES) {
        if (aliases === MAX_ALIASES + 1)
          out.push({ offset: at(node), message: `YAML: more than ${MAX_ALIASES} aliases in one file` });
        return { size: 1, height: 0 };
      }
      const target = anchors.get(node.source);
      if (!target) {
        out.push({
          offset: at(node),
          message: `YAML: alias '*${node.source}' names no anchor set before it (write '&${node.source}' on a value above it)`,
        });
        return { size: 1, height: 0 };
      }
      if (ancestors.includes(target)) {
        out.push({
          offset: at(node),
          message: `YAML: alias '*${node.source}' is inside the value it names (recursive data)`,
        });
        return { size: 1, height: 0 };
      }
      const extent = extents.get(target) ?? { size: 1, height: 0 };
      count(extent.size, node);
      if (depth + extent.height > MAX_DEPTH + 1)
        out.push({
          offset: at(node),
          message: `YAML: alias '*${node.source}' nests the document deeper than ${MAX_DEPTH} levels`,
        });
      return extent;
    }
    if (!isMap(node) && !isSeq(node)) {
      if (isScalar(node) && node.anchor) anchors.set(node.anchor, node);
      if (node) count(1, node);
      return { size: 1, height: 0 };
    }
    if (node.anchor) anchors.set(node.anchor, node);
    count(1, node);
    if (depth > MAX_DEPTH) {
      out.push({ offset: at(node), message: `YAML: nested deeper than ${MAX_DEPTH} levels` });
      return { size: 1, height: Infinity };
    }
    ancestors.push(node);
    const extent = { size: 1, height: 1 };
    const keys = new Set<string>();
    for (const item of node.items as unknown[]) {
      if (isMap(node) && isPair(item) && isScalar(item.key)) {
        const key = String(item.key.value);
        if (keys.has(key)) out.push({ offset: at(item.key), message: `YAML: duplicate key '${key}'` });
        keys.add(key);
      }
      // A pair (in a map, or a `[a: 1]` item) is not a level of its own: its key and value are.
      for (const child of isPair(item) ? [item.key, item.value] : [item]) {
        const e = walk(child, depth + 1);
        extent.size += e.size;
        extent.height = Math.max(extent.height, e.height + 1);
      }
    }
    ancestors.pop();
    extents.set(node, extent);
    return extent;
  };

  walk(doc.contents, 1);
  return out;
}
