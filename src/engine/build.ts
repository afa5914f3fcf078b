/**
 * Builds a benchmark image from a folder with a Dockerfile on one machine's engine. The
 * build context is sent as a tar stream; layers cache on the engine, so a rebuild of an
 * unchanged folder takes a moment. The result is addressed by its image id afterwards.
 */
import type Docker from 'dockerode';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { InfrastructureError, InputError, type Logger } from '../core/index.js';
import { dockerFailure } from './docker-errors.js';

interface BuildEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
}

export async function buildImage(
  docker: Docker,
  context: string,
  tag: string,
  opts: { logger: Logger; signal: AbortSignal; buildargs?: Readonly<Record<string, string>> },
): Promise<void> {
  const files = await listFiles(context);
  if (!files.includes('Dockerfile'))
    throw new InputError(`cannot build '${tag}': no Dockerfile in ${context}`, { context });
  opts.logger.info(`building image ${tag} from ${context}`);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage({ context, src: files }, {
      t: tag,
      ...(opts.buildargs ? { buildargs: opts.buildargs } : {}),
      rm: true,
      forcerm: true,
      abortSignal: opts.signal,
    } as object);
  } catch (err) {
    throw dockerFailure(`building '${tag}' from ${context}`, err);
  }
  const events = await new Promise<BuildEvent[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, res: BuildEvent[]) =>
      err ? reject(err) : resolve(res),
    ),
  ).catch((err: unknown) => {
    throw dockerFailure(`building '${tag}' from ${context}`, err);
  });
  const failed = events.find((e) => e.error || e.errorDetail);
  if (failed) {
    const log = events
      .map((e) => e.stream ?? '')
      .join('')
      .trim()
      .split('\n')
      .slice(-8)
      .join('\n');
    throw new InfrastructureError(
      `building '${tag}' from ${context} failed: ${failed.errorDetail?.message ?? failed.error}\n${log}`,
      { context, tag },
    );
  }
}

/** Every file under `dir`, relative, with `/` separators (the build context). */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((err: unknown) => {
    throw new InputError(`cannot read build folder ${dir}: ${(err as Error).message}`, { dir });
  });
  return entries
    .filter((e) => e.isFile())
    .map((e) =>
      path
        .relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
        .split(path.sep)
        .join('/'),
    );
}
