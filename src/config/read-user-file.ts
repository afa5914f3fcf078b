/**
 * Reads a file the user names (a matrix, a benchmark definition) with bounds: only a
 * regular file, at most `maxBytes`. The file is opened non-blocking and checked on the open
 * descriptor, so a FIFO (whose open and read would wait for a writer forever) or a device
 * such as /dev/zero (endless) is refused at once, with no window for a swap in between.
 */
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { InputError } from '../core/index.js';

const WHY = new Map([
  ['ENOENT', 'no such file'],
  ['EISDIR', 'is a directory'],
  ['ELOOP', 'too many symbolic links (a loop?)'],
  ['EACCES', 'permission denied'],
  ['ENAMETOOLONG', 'the name is too long'],
  ['ENOTDIR', 'a part of the path is not a directory'],
  ['EAGAIN', 'reading would block'],
]);

export async function readUserFile(file: string, maxBytes: number): Promise<string> {
  const refuse = (why: string, code?: string): never => {
    throw new InputError(`${file}: cannot read: ${why}`, { file, ...(code ? { code } : {}) });
  };
  const check = (info: Awaited<ReturnType<typeof stat>>) => {
    if (info.isDirectory()) refuse('is a directory', 'EISDIR');
    if (!info.isFile()) refuse(`not a regular file (${kind(info)}); only regular files are read`);
    if (info.size > maxBytes) refuse(tooLarge(Number(info.size), maxBytes));
  };
  let handle: FileHandle;
  try {
    // Checked before the open too: opening some devices has effects of its own.
    check(await stat(file));
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    return refuse(WHY.get(code ?? '') ?? String(code ?? err), code);
  }
  try {
    check(await handle.stat());
    // st_size can be 0 for files that still have content (/proc): read until the end, bounded.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) refuse(tooLarge(length, maxBytes));
    }
    return buffer.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    return refuse(WHY.get(code ?? '') ?? String(code ?? err), code);
  } finally {
    await handle.close();
  }
}

function tooLarge(size: number, maxBytes: number): string {
  const over = size > maxBytes + 1 ? `${Math.ceil(size / 1024)} KiB` : `more than ${maxBytes / 1024} KiB`;
  return `the file is ${over}, above the limit of ${maxBytes / 1024} KiB`;
}

function kind(info: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a file';
}
