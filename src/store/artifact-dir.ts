/**
 * Keeps artifacts as files under `<state>/artifacts/<run>/<cell>/<repetition>/`, each at
 * its container path below that folder (`/out/a/b.json` → `…/<repetition>/out/a/b.json`):
 * distinct container paths cannot share a location, unlike a flattened name (`/out/a_b` and
 * `/out/a/b` were both `out_a_b`). A file is created exclusively, so an existing file or
 * a link planted at its place is never written through.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  InfrastructureError,
  errorMessage,
  isFileSystemFault,
  stateFault,
  type ArtifactStore,
  type StoredArtifact,
} from '../core/index.js';

export interface ArtifactDirOptions {
  /**
   * Hears a failure of the file system under the folder (disk full, read-only, I/O error):
   * the state folder failed, not the repetition, so the run's store stops with it.
   */
  onFault?: (fault: InfrastructureError) => void;
}

export class ArtifactDir implements ArtifactStore {
  private readonly root: string;

  constructor(
    root: string,
    private readonly opts: ArtifactDirOptions = {},
  ) {
    this.root = path.resolve(root);
  }

  async save(
    at: { runId: string; cellId: string; repetition: number },
    containerPath: string,
    data: AsyncIterable<Uint8Array>,
    info: { bytes: number; truncated: boolean },
  ): Promise<StoredArtifact> {
    const dir = path.join(this.root, at.runId, at.cellId, String(at.repetition));
    const location = locationOf(dir, containerPath);
    try {
      await mkdir(path.dirname(location), { recursive: true });
      await pipeline(Readable.from(data), createWriteStream(location, { flags: 'wx' }));
    } catch (err) {
      // A half-written artifact is not kept as if it were whole.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        await rm(location, { force: true }).catch(() => {});
      if (isFileSystemFault(err)) {
        const fault = stateFault(`keeping artifact ${containerPath} at`, location, err);
        this.opts.onFault?.(fault);
        throw fault;
      }
      throw new InfrastructureError(
        `could not keep artifact ${containerPath} at ${location}: ${errorMessage(err)}`,
        { path: location },
        { cause: err },
      );
    }
    return { path: containerPath, location, bytes: info.bytes, truncated: info.truncated };
  }
}

/** The container path below `dir`; a path that would leave it (`..`, empty) is refused. */
function locationOf(dir: string, containerPath: string): string {
  const parts = containerPath.split('/').filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..' || p.includes('\0')))
    throw new InfrastructureError(`artifact path ${JSON.stringify(containerPath)} does not name a file`);
  const location = path.join(dir, ...parts);
  if (!location.startsWith(dir + path.sep))
    throw new InfrastructureError(`artifact path ${containerPath} leaves ${dir}`);
  return location;
}
