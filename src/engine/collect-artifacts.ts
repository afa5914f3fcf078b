/**
 * Copies a repetition's declared artifacts out of its (stopped) container, one at a time,
 * each streamed straight to the artifact store: memory stays at a few chunks whatever the
 * files weigh. A per-repetition cap on count and bytes bounds the disk; what is not kept
 * (missing, a link, a directory, past the cap) is said in a note, never skipped silently.
 */
import { ARTIFACT_LIMITS, BenchyardError, type EngineContainer, type StoredArtifact } from '../core/index.js';
import { streamFileOut, type FileInfo } from './copy-out.js';
import { dockerFailure } from './docker-errors.js';

export interface ArtifactLimits {
  /**
   * Most artifacts kept per repetition.
   * @default 32
   */
  files?: number;
  /**
   * Most bytes kept of one artifact; a larger one keeps its start and is marked truncated.
   * @default 256 MiB
   */
  bytesPerFile?: number;
  /**
   * Most bytes kept of all artifacts of a repetition together.
   * @default 1 GiB
   */
  bytes?: number;
}

/** Where an artifact's bytes go: the artifact store, with the repetition bound in. */
export type SaveArtifact = (
  containerPath: string,
  data: AsyncIterable<Uint8Array>,
  info: FileInfo,
) => Promise<StoredArtifact>;

export async function collectArtifacts(
  container: Pick<EngineContainer, 'archive' | 'id'>,
  paths: readonly string[],
  save: SaveArtifact,
  limits: ArtifactLimits = {},
): Promise<{ artifacts: StoredArtifact[]; notes: string[] }> {
  const { files, bytesPerFile, bytes } = { ...ARTIFACT_LIMITS, ...limits };
  const artifacts: StoredArtifact[] = [];
  const notes: string[] = [];
  let used = 0;
  for (const path of new Set(paths)) {
    if (artifacts.length >= files) {
      notes.push(`artifact ${path} not kept: the repetition already keeps ${files} artifacts (the cap)`);
      continue;
    }
    const room = Math.min(bytesPerFile, bytes - used);
    if (room <= 0) {
      notes.push(`artifact ${path} not kept: the repetition's artifacts reached ${mib(bytes)} (the cap)`);
      continue;
    }
    let out;
    try {
      out = await streamFileOut(container, path, room, (data, info) => save(path, data, info));
    } catch (err) {
      // The store's own failure (a full disk) is already said; the rest is the engine's.
      if (err instanceof BenchyardError) throw err;
      throw dockerFailure(`copying ${path} out of container ${container.id.slice(0, 12)}`, err);
    }
    if (out.kind === 'missing') notes.push(`artifact ${path} not kept: the container did not write it`);
    else if (out.kind === 'not-a-file')
      notes.push(
        out.linkTarget !== undefined
          ? `artifact ${path} not kept: it is a symbolic link (to ${quoted(out.linkTarget)}), and links are not followed`
          : `artifact ${path} not kept: it is a ${out.type}, not a file`,
      );
    else {
      artifacts.push(out.value);
      used += Math.min(out.info.bytes, room);
      if (out.info.truncated)
        notes.push(
          `artifact ${path} truncated: ${mib(out.info.bytes)} in the container, the first ${mib(room)} kept (${room === bytesPerFile ? 'the cap per artifact' : "the repetition's cap"})`,
        );
    }
  }
  return { artifacts, notes };
}

/** A name the container chose, safe on a terminal: quoted, control characters escaped, short. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}
