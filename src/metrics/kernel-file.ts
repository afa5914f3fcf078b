/**
 * A /proc or /sys file kept open and re-read from offset 0 on each call: one pread instead
 * of open, fstat, read and close (about 0.05 ms against 0.3 ms for `readFile`, measured in
 * host-collector.ts). The file must be rewritten in place (as the kernel does, and
 * `writeFile` does), not replaced by a rename.
 */
import { open, type FileHandle } from 'node:fs/promises';

export class KernelFile {
  private handle: Promise<FileHandle> | undefined;
  private buffer = Buffer.allocUnsafe(4096);

  constructor(readonly path: string) {}

  async read(): Promise<string> {
    this.handle ??= open(this.path, 'r');
    try {
      const h = await this.handle;
      for (;;) {
        const { bytesRead } = await h.read(this.buffer, 0, this.buffer.length, 0);
        // procfs and sysfs fill the buffer when there is more: a short read is the whole file.
        if (bytesRead < this.buffer.length) return this.buffer.toString('utf8', 0, bytesRead);
        this.buffer = Buffer.allocUnsafe(this.buffer.length * 2);
      }
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    const h = await handle?.catch(() => undefined);
    await h?.close().catch(() => undefined);
  }
}

/** A one-line sysfs attribute, trimmed; '' where absent or unreadable. `open`: how (a test's fake tree). */
export async function readSmall(
  file: string,
  open: (file: string) => { read(): Promise<string>; close(): Promise<void> } = (f) => new KernelFile(f),
): Promise<string> {
  const f = open(file);
  try {
    return (await f.read()).trim();
  } catch {
    return '';
  } finally {
    await f.close();
  }
}
