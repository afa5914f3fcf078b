/** Image lookup by reference, answering with the immutable digest that results record. */
import type Docker from 'dockerode';
import { InfrastructureError, type Engine, type ImageInfo } from '../core/index.js';
import { dockerFailure, statusOf } from './docker-errors.js';

export type { ImageInfo };

/** The image on the machine's engine; throws, saying how to get it there, when it is absent. */
export async function presentImage(engine: Engine, ref: string, machine: string): Promise<ImageInfo> {
  const info = await engine.image(ref);
  if (!info) throw notPresent(ref, machine);
  return info;
}

function notPresent(ref: string, machine: string): InfrastructureError {
  return new InfrastructureError(
    `image '${ref}' is not present on machine '${machine}'; build the benchmark images with 'scripts/services up images'`,
    { image: ref, machine },
  );
}

export async function inspectImage(docker: Docker, ref: string, machine: string): Promise<ImageInfo> {
  try {
    const info = await docker.getImage(ref).inspect();
    const repoDigest = info.RepoDigests?.find((d) => d.includes('@'))?.split('@')[1];
    return { ref, digest: repoDigest ?? info.Id, id: info.Id, sizeBytes: info.Size };
  } catch (err) {
    if (statusOf(err) === 404) throw notPresent(ref, machine);
    throw dockerFailure(`inspecting image '${ref}' on '${machine}'`, err, { image: ref });
  }
}

/**
 * Makes `ref` present on `target`, copying it from `source` (the controller's engine) with
 * `docker save | docker load` streamed through the target's connection when it is missing.
 * The copy is verified by image id (content address): what runs is what was shipped.
 */
export async function shipImage(
  source: Docker,
  target: Docker,
  ref: string,
  machine: string,
  opts: { signal?: AbortSignal } = {},
): Promise<'present' | 'shipped'> {
  const want = await source
    .getImage(ref)
    .inspect()
    .catch((err: unknown) => {
      if (statusOf(err) === 404) return undefined;
      throw dockerFailure(`inspecting image '${ref}' on the controller`, err, { image: ref });
    });
  try {
    const have = await target.getImage(ref).inspect();
    if (!want || have.Id === want.Id) return 'present';
  } catch (err) {
    if (statusOf(err) !== 404)
      throw dockerFailure(`inspecting image '${ref}' on '${machine}'`, err, { image: ref });
  }
  if (!want)
    throw new InfrastructureError(
      `image '${ref}' is neither on machine '${machine}' nor on the controller's Docker engine to ship from`,
      { image: ref, machine },
    );
  opts.signal?.throwIfAborted();
  try {
    const tar = await source.getImage(ref).get();
    const reply = await target.loadImage(tar, { quiet: true });
    await new Promise<void>((resolve, reject) => {
      let error: string | undefined;
      reply.on('data', (chunk: Buffer) => {
        error ??= /"error"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(chunk.toString('utf8'))?.[1];
      });
      reply.once('end', () => (error ? reject(new Error(error)) : resolve()));
      reply.once('error', reject);
    });
  } catch (err) {
    throw dockerFailure(`shipping image '${ref}' to '${machine}'`, err, { image: ref });
  }
  const landed = await target.getImage(ref).inspect();
  if (landed.Id !== want.Id)
    throw new InfrastructureError(`image '${ref}' on '${machine}' is ${landed.Id} after loading ${want.Id}`, {
      image: ref,
    });
  return 'shipped';
}
