/**
 * The agent on a machine's Docker engine: its own container (host network, host cgroup
 * namespace, the host's /proc and /sys read-only under /host), talked to over the attach
 * stream of the engine the controller already holds. The image is built where the
 * controller's engine is given and shipped to the machine (remote machines often cannot
 * pull or build from the internet), else built on the machine.
 */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { InfrastructureError, type AgentChannel, type AgentLaunch, type Logger } from '../core/index.js';
import { dockerFailure, shipImage } from '../engine/index.js';
import { agentLaunch, type AgentStart } from './agent-monitor.js';
import { ensureAgentImage, type AgentFiles } from './image.js';

export interface DockerAgentOptions {
  files: AgentFiles;
  host: string;
  /** Owner labels (session, expiry); the run's and the agent's role are added. */
  labels: Readonly<Record<string, string>>;
  /** The controller's Docker engine, where the image is built and shipped from. */
  imageSource?: Docker;
  logger: Logger;
}

/** `AgentMonitorOptions.open` for a Docker engine: builds (or finds) the image, then starts the agent. */
export function dockerAgent(
  docker: Docker,
  o: DockerAgentOptions,
): (start: AgentStart) => Promise<AgentChannel> {
  return async (start) => {
    const source = o.imageSource;
    const image = await ensureAgentImage(source ?? docker, o.files, {
      logger: o.logger,
      signal: start.signal,
    });
    if (source) await shipImage(source, docker, image, o.host, { signal: start.signal });
    return dockerAgentChannel(docker, agentLaunch(image, start, o), o.host);
  };
}

/** Creates and starts the agent container; output from its first byte reaches `onOutput`. */
export async function dockerAgentChannel(
  docker: Docker,
  launch: AgentLaunch,
  host: string,
): Promise<AgentChannel> {
  let container: Docker.Container | undefined;
  try {
    container = await docker.createContainer({
      Image: launch.image,
      Cmd: [...launch.args],
      name: launch.name,
      Labels: { ...launch.labels },
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: 'host',
        CgroupnsMode: 'host',
        Binds: ['/proc:/host/proc:ro', '/sys:/host/sys:ro'],
        Memory: 256 * 1024 * 1024,
      },
    } as Docker.ContainerCreateOptions);
    const stream = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as NodeJS.ReadWriteStream;
    // Held here until `onOutput` reads them: the agent's first line comes right after the start.
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    docker.modem.demuxStream(stream, stdout, stderr);
    const closed = container.wait({ condition: 'next-exit' }).then(
      () => undefined,
      () => undefined,
    );
    await container.start();
    const c = container;
    let closing: Promise<void> | undefined;
    return {
      write: (text) => void stream.write(text),
      onOutput: (out, err) => {
        stdout.on('data', out);
        stderr.on('data', err);
      },
      closed,
      close: () =>
        (closing ??= (async () => {
          stream.end();
          await c.remove({ force: true }).catch(() => undefined);
          await closed;
        })()),
    };
  } catch (err) {
    await container?.remove({ force: true }).catch(() => undefined);
    if (err instanceof InfrastructureError) throw err;
    throw dockerFailure(`starting the metrics agent on ${host}`, err);
  }
}
