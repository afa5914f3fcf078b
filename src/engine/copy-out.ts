/**
 * Copies one file out of a (stopped) container through the archive API, streamed: the
 * bytes go to a consumer as they arrive, up to a cap, so a file of any size costs a few
 * chunks of memory. Only the archive's first entry is read: a directory's contents are
 * never downloaded, and a symbolic link is reported as one (Docker does not follow the
 * last component of the path, and neither does benchyard).
 */
import { extract } from 'tar-stream';
import type { EngineContainer } from '../core/index.js';

export interface CopiedFile {
  data: Buffer;
  /** Size of the file in the container; more than `data.length` when the cap cut it. */
  bytes: number;
  truncated: boolean;
}

export interface FileInfo {
  /** Size of the file in the container. */
  bytes: number;
  /** Only the first `maxBytes` are handed over. */
  truncated: boolean;
}

export type CopyOut<T> =
  | { kind: 'file'; value: T; info: FileInfo }
  | { kind: 'missing' }
  /** A directory, a symbolic link (with its target), a device...: nothing is copied. */
  | { kind: 'not-a-file'; type: string; linkTarget?: string };

/** Streams the file at `path` to `consume`; the copy ends when `consume` has read what it wants. */
export async function streamFileOut<T>(
  container: Pick<EngineContainer, 'archive'>,
  path: string,
  maxBytes: number,
  consume: (data: AsyncIterable<Buffer>, info: FileInfo) => Promise<T>,
): Promise<CopyOut<T>> {
  const archive = (await container.archive(path)) as
    (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
  if (!archive) return { kind: 'missing' };
  const tar = extract();
  archive.on('error', (err: Error) => tar.destroy(err));
  archive.pipe(tar);
  const entries = tar[Symbol.asyncIterator]();
  try {
    const first = await entries.next();
    if (first.done) return { kind: 'missing' };
    const entry = first.value;
    const h = entry.header;
    if (h.type !== 'file')
      return {
        kind: 'not-a-file',
        type: h.type ?? 'unknown',
        ...(h.linkname ? { linkTarget: h.linkname } : {}),
      };
    const info = { bytes: h.size ?? 0, truncated: (h.size ?? 0) > maxBytes };
    return {
      kind: 'file',
      value: await consume(upTo(entry as unknown as AsyncIterable<Buffer>, maxBytes), info),
      info,
    };
  } finally {
    // Whatever is left (the rest of a capped file, a directory's contents) is not read.
    archive.unpipe(tar);
    archive.destroy?.();
    tar.destroy();
  }
}

/** The file's bytes, or undefined when the container has no such regular file. */
export async function copyFileOut(
  container: Pick<EngineContainer, 'archive'>,
  path: string,
  maxBytes: number,
): Promise<CopiedFile | undefined> {
  const out = await streamFileOut(container, path, maxBytes, async (data) => {
    const chunks: Buffer[] = [];
    for await (const chunk of data) chunks.push(chunk);
    return Buffer.concat(chunks);
  });
  return out.kind === 'file' ? { data: out.value, ...out.info } : undefined;
}

async function* upTo(chunks: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  let left = maxBytes;
  for await (const chunk of chunks) {
    if (left <= 0) return;
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    yield part;
  }
}
