/**
 * Watches the holder jobs of one login: a job Slurm ended (time limit, preemption, node
 * failure, an `scancel` from outside) makes its machine lost at once. One `squeue` per
 * interval for every job of the session, whatever their number.
 */
import { errorMessage, type Clock, type Logger } from '../../src/core/index.js';
import type { SlurmCluster } from './cluster.js';

/** States in which a holder still holds its node. */
const HOLDING = new Set(['RUNNING', 'CONFIGURING']);

export class JobWatch {
  private readonly jobs = new Map<string, (reason: string) => void>();
  private stop?: AbortController;

  constructor(
    private readonly cluster: SlurmCluster,
    private readonly name: string,
    private readonly o: { clock: Clock; logger: Logger; intervalMs: number },
  ) {}

  /** Calls `onEnded` once when Slurm no longer runs the job. */
  add(jobId: string, onEnded: (reason: string) => void): void {
    this.jobs.set(jobId, onEnded);
    if (!this.stop) {
      this.stop = new AbortController();
      void this.loop(this.stop.signal);
    }
  }

  /** Stops watching the job (it is being released). */
  remove(jobId: string): void {
    this.jobs.delete(jobId);
    if (this.jobs.size === 0) {
      this.stop?.abort();
      this.stop = undefined;
    }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.o.clock.sleep(this.o.intervalMs, signal);
      } catch {
        return;
      }
      if (this.jobs.size === 0) continue;
      try {
        await this.look(signal);
      } catch (err) {
        // The login may be briefly unreachable: Slurm's time limit still bounds the job.
        if (!signal.aborted) this.o.logger.debug(`slurm: watching holder jobs: ${errorMessage(err)}`);
      }
    }
  }

  private async look(signal: AbortSignal): Promise<void> {
    const seen = new Map((await this.cluster.jobs({ name: this.name }, signal)).map((j) => [j.id, j]));
    for (const [id, onEnded] of [...this.jobs]) {
      const job = seen.get(id);
      if (job && HOLDING.has(job.state)) continue;
      this.jobs.delete(id);
      onEnded(
        job
          ? `Slurm job ${id} ended: ${job.state}${job.reason && job.reason !== 'None' ? ` (${job.reason})` : ''}`
          : `Slurm job ${id} is gone from the queue`,
      );
    }
  }
}
