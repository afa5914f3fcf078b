/** Keeps artifacts as files under `<state>/artifacts/<run>/<cell>/<repetition>/`. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactStore, StoredArtifact } from '../core/index.js';

export class ArtifactDir implements ArtifactStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async save(
    at: { runId: string; cellId: string; repetition: number },
    containerPath: string,
    data: Buffer,
    info: { bytes: number; truncated: boolean },
  ): Promise<StoredArtifact> {
    const dir = path.join(this.root, at.runId, at.cellId, String(at.repetition));
    await mkdir(dir, { recursive: true });
    // The container path, flattened into one file name: /out/a/b.json → out_a_b.json.
    const location = path.join(dir, containerPath.replace(/^\/+/, '').replace(/\//g, '_'));
    await writeFile(location, data);
    return { path: containerPath, location, bytes: info.bytes, truncated: info.truncated };
  }
}
