/**
 * The image the lease container is created from: empty (no files, no program), imported
 * from an empty tar on the engine itself, so a bare engine needs nothing pulled or shipped.
 */
import type Docker from 'dockerode';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { statusOf } from '../engine/docker-errors.js';

export const LEASE_IMAGE = 'benchyard/lease:1';

export async function ensureLeaseImage(docker: Docker, signal: AbortSignal): Promise<void> {
  try {
    await docker.getImage(LEASE_IMAGE).inspect();
    return;
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
  const tar = pack();
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const c of tar as AsyncIterable<Buffer>) chunks.push(c);
  const [repo, tag] = LEASE_IMAGE.split(':');
  const progress = (await docker.importImage(Readable.from([Buffer.concat(chunks)]), {
    repo,
    tag,
    abortSignal: signal,
  } as object)) as NodeJS.ReadableStream;
  // The reply is a progress stream; the import is done when it ends.
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(progress, (e) => (e ? reject(e) : resolve())),
  );
}
