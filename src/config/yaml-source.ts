/**
 * A parsed YAML file that remembers where every node came from, so validation problems
 * can be reported as `file:line:col` with the path that caused them.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError, errorMessage, type Diagnostic } from '../core/index.js';
import { MAX_DEPTH, MAX_FILE_BYTES } from './limits.js';
import { readUserFile } from './read-user-file.js';
import { structureProblems } from './yaml-structure.js';

export type PathSegment = string | number;

export class YamlSource {
  private constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly data: unknown,
  ) {}

  /**
   * Reads and parses a file. Only a regular file of at most MAX_FILE_BYTES is read (a FIFO,
   * a device or a folder is refused before any read); unreadable files are input errors.
   */
  static async load(file: string): Promise<YamlSource> {
    return YamlSource.parse(file, await readUserFile(file, MAX_FILE_BYTES));
  }

  /**
   * Every problem the yaml library reports, and those it leaves to `toJS` or lets through
   * (see yaml-structure.ts), become located diagnostics: bad input never escapes as a crash.
   */
  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter();
    const fail = (problems: { offset: number; message: string }[]): never => {
      throw new ConfigError(
        problems.map(({ offset, message }) => {
          const { line, col } = lines.linePos(offset);
          return { file, line, col, path: '', message };
        }),
      );
    };
    if (text.length > MAX_FILE_BYTES)
      fail([{ offset: 0, message: `the file is larger than ${MAX_FILE_BYTES / 1024} KiB` }]);
    let doc: Document;
    try {
      // uniqueKeys: false — the library's own check is quadratic in a map's size;
      // structureProblems finds duplicates with a set.
      doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
    } catch (err) {
      return fail([{ offset: 0, message: `YAML: ${yamlMessage(errorMessage(err))}` }]);
    }
    if (doc.errors.length > 0)
      fail(doc.errors.map((e) => ({ offset: e.pos[0], message: `YAML: ${yamlMessage(e.message)}` })));
    const problems = structureProblems(doc);
    if (problems.length > 0) fail(problems);
    let data: unknown;
    try {
      // Aliases are bounded by structureProblems; the library's count would refuse a 101st
      // use of one scalar anchor, which is harmless.
      data = doc.toJS({ maxAliasCount: -1 }) ?? undefined;
    } catch (err) {
      return fail([{ offset: 0, message: `YAML: ${errorMessage(err)}` }]);
    }
    return new YamlSource(file, doc, lines, data);
  }

  /** The document as plain data (`undefined` for an empty file): finite and acyclic. */
  value(): unknown {
    return this.data;
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

/** The library's message, first line; its stack running out means nesting too deep to follow. */
function yamlMessage(message: string): string {
  return /Maximum call stack/.test(message)
    ? `nested far deeper than ${MAX_DEPTH} levels`
    : message.split('\n')[0]!;
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
