/** Copies one file out of a (stopped) container through the archive API, up to a size cap. */
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { statusOf } from './docker-errors.js';

export interface CopiedFile {
  data: Buffer;
  /** Size of the file in the container; more than `data.length` when the cap cut it. */
  bytes: number;
  truncated: boolean;
}

/** The file's bytes, or undefined when the container has no such regular file. */
export async function copyFileOut(
  container: Docker.Container,
  path: string,
  maxBytes: number,
): Promise<CopiedFile | undefined> {
  let archive: NodeJS.ReadableStream;
  try {
    archive = (await container.getArchive({ path })) as NodeJS.ReadableStream;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
  const tar = extract();
  let found: CopiedFile | undefined;
  const done = (async () => {
    for await (const entry of tar) {
      if (found === undefined && entry.header.type === 'file') {
        const chunks: Buffer[] = [];
        let kept = 0;
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          if (kept < maxBytes) chunks.push(chunk.subarray(0, maxBytes - kept));
          kept += Math.min(chunk.length, Math.max(0, maxBytes - kept));
        }
        const size = entry.header.size ?? kept;
        found = { data: Buffer.concat(chunks), bytes: size, truncated: size > maxBytes };
      } else entry.resume();
    }
  })();
  archive.pipe(tar);
  await done;
  return found;
}
