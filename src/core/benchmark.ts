/** A benchmark definition: what `benchmarks/<name>/benchmark.yaml` declares, after validation. */

export type ParamValue = string | number | boolean;
export type Direction = 'higher' | 'lower';

export interface ParamSpec {
  type: 'integer' | 'number' | 'string' | 'boolean';
  default?: ParamValue;
  min?: number;
  max?: number;
  /** Allowed values for a string parameter. */
  enum?: readonly string[];
  unit?: string;
  description?: string;
}

/** Where a score is read from and how. Exactly one of `regex` / `json` / `metric` is set. */
export interface ScoreSpec {
  name: string;
  unit: string;
  direction: Direction;
  /** `stdout`, `stderr`, or an absolute path of a file the container writes (copied out after it exits). */
  from: string;
  /** Regular expression; the value is the named group `value` or else the first group. */
  regex?: string;
  /** Which match to take when the regex matches more than once; `all` combines them with `reduce`. */
  match?: 'first' | 'last' | 'all';
  /** How `match: all` combines the matches. */
  reduce?: 'mean' | 'median' | 'min' | 'max' | 'sum';
  /** JSONPath into the source parsed as one JSON document. */
  json?: string;
  /** Last value of `@benchyard metric=<name> value=<number>` lines in the source. */
  metric?: string;
  /** Multiply the extracted number, e.g. 1e-3 to turn ns into us. */
  scale?: number;
}

export interface BenchmarkDefinition {
  name: string;
  version: number;
  description: string;
  image: string;
  /** Folder with a Dockerfile to build the image from (absolute); `image` is then the tag given to the build. */
  build?: string;
  /** Files the container writes that are kept as artifacts (absolute paths in the container). */
  artifacts: readonly string[];
  /** argv, with `{{param}}` placeholders substituted per cell; never run through a shell. */
  command: readonly string[];
  params: Readonly<Record<string, ParamSpec>>;
  scores: readonly ScoreSpec[];
  timeoutMs: number;
  network: 'none' | 'bridge';
  /** Folder the definition was loaded from (for messages). */
  source: string;
}

export interface BenchmarkCatalog {
  get(name: string): BenchmarkDefinition | undefined;
  list(): readonly BenchmarkDefinition[];
}
