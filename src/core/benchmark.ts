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

/** Where a score is read from and how. Exactly one of `regex` / `json` is set. */
export interface ScoreSpec {
  name: string;
  unit: string;
  direction: Direction;
  /** Output stream the score is read from. */
  from: 'stdout' | 'stderr';
  /** Regular expression; the value is the named group `value` or else the first group. */
  regex?: string;
  /** Which match to take when the regex matches more than once. */
  match?: 'first' | 'last';
  /** JSONPath into the stream parsed as one JSON document. */
  json?: string;
  /** Multiply the extracted number, e.g. 1e-6 to turn ns into ms. */
  scale?: number;
}

export interface BenchmarkDefinition {
  name: string;
  version: number;
  description: string;
  image: string;
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
