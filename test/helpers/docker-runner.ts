/** Runs containers on a Docker engine through the engine port, as repetitions do. */
import type Docker from 'dockerode';
import { silentLogger, type Logger, type Machine } from '../../src/core/index.js';
import {
  DockerEngine,
  dockerOf,
  runContainer,
  type RunOptions,
  type RunSpec,
} from '../../src/engine/index.js';

export function dockerRunner(docker: Docker, logger: Logger = silentLogger) {
  const engine = new DockerEngine(docker);
  return { run: (spec: RunSpec, opts: RunOptions) => runContainer(engine, spec, opts, { logger }) };
}

/** The dockerode client of a machine whose engine is Docker (every provider's today). */
export function dockerOfMachine(machine: Machine): Docker {
  const docker = dockerOf(machine.engine);
  if (!docker) throw new Error(`machine ${machine.id} runs a ${machine.engine.kind} engine, not Docker`);
  return docker;
}
