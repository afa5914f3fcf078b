/**
 * What the embedded store does when its file fails under it (the disk full, read-only,
 * locked by another process past the busy timeout, an I/O error): the first failed write
 * becomes the store's fault, an InfrastructureError naming the file, and stays it. Every
 * later write throws it at once (no second wait on a lock), except the writes that end
 * something (a run, an orphan run), which are still tried, once more after freeing the
 * disk reserve where the disk is full.
 */
import { BenchyardError, isDiskFull, stateFault, type InfrastructureError } from '../core/index.js';
import { spendReserve } from './disk-reserve.js';

export class WriteGuard {
  private first: InfrastructureError | undefined;

  constructor(
    private readonly file: string,
    private readonly stateDir: string,
  ) {}

  /** The first write that failed. */
  get fault(): InfrastructureError | undefined {
    return this.first;
  }

  /** Takes a failure of the state folder seen elsewhere (an artifact on a full disk) as its own. */
  fail(fault: InfrastructureError): void {
    this.first ??= fault;
  }

  /** A write while the store works; its failure becomes (and stays) the fault. */
  writing<T>(doing: string, write: () => T): T {
    if (this.first) throw this.first;
    try {
      return write();
    } catch (err) {
      throw this.failed(doing, err);
    }
  }

  /** A write that ends something: tried even after a fault, again after spending the reserve. */
  ending<T>(doing: string, write: () => T): T {
    try {
      return write();
    } catch (err) {
      if (!(isDiskFull(err) && spendReserve(this.stateDir))) throw this.failed(doing, err);
    }
    try {
      return write();
    } catch (err) {
      throw this.failed(doing, err);
    }
  }

  /** The fault (the first one), or `err` itself where it is the caller's mistake (an InputError). */
  private failed(doing: string, err: unknown): Error {
    if (err instanceof BenchyardError) return err;
    this.first ??= stateFault(doing, this.file, err);
    return this.first;
  }
}
