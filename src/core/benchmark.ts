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
  /** Devices and accelerators the benchmark needs. */
  requires: Requirements;
  /** How its containers are confined; absent: `DEFAULT_CONTAINER_POLICY`. */
  container?: ContainerPolicy;
  /** Folder the definition was loaded from (for messages). */
  source: string;
}

/** How a benchmark's containers are confined, beyond what `requires` grants. */
export interface ContainerPolicy {
  /** Most processes and threads in the container at once (a fork bomb stops there); `unlimited`: none. */
  pidsLimit: number | 'unlimited';
  /** Processes cannot gain privileges through setuid binaries or file capabilities. */
  noNewPrivileges: boolean;
}

export const DEFAULT_CONTAINER_POLICY: ContainerPolicy = Object.freeze({
  pidsLimit: 4096,
  noNewPrivileges: true,
});

/**
 * What one repetition keeps of its declared artifacts; files are streamed to disk one at a
 * time, so these bound the disk, not memory.
 */
export const ARTIFACT_LIMITS = Object.freeze({
  /** Declared artifacts per benchmark, and so kept per repetition. */
  files: 32,
  /** Bytes kept of one artifact; a larger one keeps its start, marked truncated. */
  bytesPerFile: 256 * 1024 * 1024,
  /** Bytes kept of all artifacts of one repetition together. */
  bytes: 1024 * 1024 * 1024,
});

export interface BenchmarkCatalog {
  get(name: string): BenchmarkDefinition | undefined;
  list(): readonly BenchmarkDefinition[];
}

/** A device node of the machine given to the container. */
export interface DeviceMapping {
  /** Path on the machine, e.g. `/dev/xdma0_user`. */
  host: string;
  /** Path inside the container (default: the same). */
  container: string;
  /** cgroup permissions: some of `r`, `w`, `m`. */
  permissions: string;
}

/** What a benchmark needs from its machine; cells whose target cannot have it are skipped. */
export interface Requirements {
  /**
   * NVIDIA GPUs through Docker `DeviceRequests` (driver nvidia, capability gpu): `count`
   * (or `all`), a `model` pattern (a case-insensitive regular expression on the GPU's name,
   * e.g. `K80|V100`), PCI ids (`10de:2204`, lowercase `vendor:device`; a GPU fits when its
   * name matches `model` or its PCI id is one of these), a driver range (e.g. `>=450 <=470`),
   * or specific device ids.
   */
  gpu?: {
    count: number | 'all';
    model?: string;
    pci?: readonly string[];
    driver?: string;
    ids?: readonly string[];
  };
  /** FPGA cards: the vendor the machine must have, and the device nodes to pass through. */
  fpga?: { vendor?: FpgaVendor; devices: readonly DeviceMapping[] };
  /** Other device nodes to pass through. */
  devices: readonly DeviceMapping[];
  /** cgroup device rules for patterns of devices, e.g. `c 195:* rwm`. */
  deviceCgroupRules: readonly string[];
  /** A privileged container: only when asked for, and shown in the plan. */
  privileged: boolean;
}

export type FpgaVendor = 'xilinx' | 'intel' | 'amazon';

export const NO_REQUIREMENTS: Requirements = Object.freeze({
  devices: [],
  deviceCgroupRules: [],
  privileged: false,
});
