/**
 * The Docker engine, from dockerode's `docker.info()` (GET /info, `SystemInfo`) and
 * `docker.version()` (GET /version) answers. Both are taken as `unknown` and read
 * defensively: fields come and go between engine versions (`CgroupVersion` since API 1.40).
 */
import { obj, str } from './json.js';

export interface DockerInfo {
  /** Engine version, e.g. `24.0.7` (`ServerVersion`, else /version's `Version`). */
  version?: string;
  apiVersion?: string;
  storageDriver?: string;
  /** `cgroupfs` or `systemd`. */
  cgroupDriver?: string;
  /** `1` or `2`. */
  cgroupVersion?: string;
  rootDir?: string;
  /** Configured OCI runtimes by name, sorted (`runc`, `nvidia`, `io.containerd.runc.v2`). */
  runtimes: string[];
  defaultRuntime?: string;
  /** Whether an `nvidia` runtime (nvidia-container-toolkit) is configured. */
  nvidiaRuntime: boolean;
}

/** Undefined when neither answer is an object. */
export function parseDockerInfo(info: unknown, version?: unknown): DockerInfo | undefined {
  const i = obj(info);
  const v = obj(version);
  if (!i && !v) return undefined;
  const runtimes = Object.keys(obj(i?.Runtimes) ?? {}).sort();
  const fields = {
    version: str(i?.ServerVersion) ?? str(v?.Version),
    apiVersion: str(v?.ApiVersion),
    storageDriver: str(i?.Driver),
    cgroupDriver: str(i?.CgroupDriver),
    cgroupVersion: str(i?.CgroupVersion),
    rootDir: str(i?.DockerRootDir),
    defaultRuntime: str(i?.DefaultRuntime),
  };
  return {
    ...(Object.fromEntries(Object.entries(fields).filter(([, x]) => x !== undefined)) as Partial<
      typeof fields
    >),
    runtimes,
    nvidiaRuntime: runtimes.includes('nvidia'),
  };
}
