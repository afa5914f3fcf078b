/**
 * A parsed YAML file that remembers where every node came from, so validation problems
 * can be reported as `file:line:col` with the path that caused them.
 */
import { readFile } from 'node:fs/promises';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from 'yaml';
import { ConfigError, InputError, type Diagnostic } from '../core/index.js';

export type PathSegment = string | number;

export class YamlSource {
  private constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Reads and parses a file; unreadable files and YAML syntax errors are input errors. */
  static async load(file: string): Promise<YamlSource> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(code ?? err);
      throw new InputError(`${file}: cannot read: ${why}`, { file, code });
    }
    return YamlSource.parse(file, text);
  }

  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const source = new YamlSource(file, doc, lines);
    if (doc.errors.length > 0) {
      throw new ConfigError(
        doc.errors.flatMap((e) => {
          if (e.code === 'DUPLICATE_KEY') return source.duplicateKeys();
          const { line, col } = lines.linePos(e.pos[0]);
          return [{ file, line, col, path: '', message: `YAML: ${e.message.split('\n')[0]}` }];
        }),
      );
    }
    return source;
  }

  /** yaml reports a duplicate key at its map; this points at each repeated key instead. */
  private duplicateKeys(): Diagnostic[] {
    const out: Diagnostic[] = [];
    visit(this.doc, {
      Map: (_, map) => {
        const seen = new Set<string>();
        for (const pair of map.items) {
          if (!isScalar(pair.key)) continue;
          const key = String(pair.key.value);
          if (seen.has(key)) {
            const { line, col } = this.lines.linePos(pair.key.range?.[0] ?? 0);
            out.push({ file: this.file, line, col, path: '', message: `YAML: duplicate key '${key}'` });
          }
          seen.add(key);
        }
      },
    });
    return out;
  }

  /** The document as plain data (`undefined` for an empty file). */
  value(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 }) ?? undefined;
  }

  /**
   * A diagnostic for the node at `path`, or for the deepest ancestor that exists (a
   * missing key is reported where its parent is). With `key`, points at that key of the map.
   */
  diagnostic(path: readonly PathSegment[], message: string, key?: string): Diagnostic {
    const node = this.deepest(path, key);
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return {
      file: this.file,
      line,
      col,
      path: formatPath(key === undefined ? path : [...path, key]),
      message,
    };
  }

  /** Line (1-based) of the node at `path`, if it exists. */
  lineOf(path: readonly PathSegment[]): number | undefined {
    const node = this.deepest(path);
    return node?.range ? this.lines.linePos(node.range[0]).line : undefined;
  }

  private deepest(path: readonly PathSegment[], key?: string): Node | undefined {
    let node: unknown = this.doc.contents;
    for (const seg of key === undefined ? path : [...path, key]) {
      const isLast = seg === key && key !== undefined;
      const next = child(node, seg, isLast);
      if (next === undefined) break;
      node = next;
    }
    return (node ?? undefined) as Node | undefined;
  }
}

/** Child node of a map or sequence; for the last segment of a `key` lookup, the key node itself. */
function child(node: unknown, seg: PathSegment, wantKey: boolean): unknown {
  if (isSeq(node) && typeof seg === 'number') return node.items[seg];
  if (isMap(node)) {
    for (const item of node.items) {
      if (isPair(item) && isScalar(item.key) && String(item.key.value) === String(seg)) {
        return wantKey ? item.key : (item.value ?? item.key);
      }
    }
  }
  return undefined;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}
