/** Image lookup by reference, answering with the immutable digest that results record. */
import type Docker from 'dockerode';
import { InfrastructureError } from '../core/index.js';
import { dockerFailure, statusOf } from './docker-errors.js';

export interface ImageInfo {
  ref: string;
  /** Registry digest when the image came from a registry, else the local image id; both are content addresses. */
  digest: string;
  id: string;
  sizeBytes: number;
}

export async function inspectImage(docker: Docker, ref: string, machine: string): Promise<ImageInfo> {
  try {
    const info = await docker.getImage(ref).inspect();
    const repoDigest = info.RepoDigests?.find((d) => d.includes('@'))?.split('@')[1];
    return { ref, digest: repoDigest ?? info.Id, id: info.Id, sizeBytes: info.Size };
  } catch (err) {
    if (statusOf(err) === 404) {
      throw new InfrastructureError(
        `image '${ref}' is not present on machine '${machine}'; build the benchmark images with 'scripts/services up images'`,
        { image: ref, machine },
      );
    }
    throw dockerFailure(`inspecting image '${ref}' on '${machine}'`, err, { image: ref });
  }
}
