/**
 * One machine of a run as an explicit state machine. Every change of what the machine may
 * do goes through a transition here, and the transitions own its release: a machine is
 * released exactly once, as soon as nothing runs there any more.
 *
 *   acquiring ──► ready ──► draining  (left its pool: finishes its cells, takes no other)
 *       │           │  ├──► stopping  (left its pool `now`: its repetitions stop, run elsewhere)
 *       │           │  ├──► idle      (nothing to run for the target's idle time)
 *       │           ▼  ▼
 *       └─────────► lost              (broke, not prepared, or no longer ours: stops at once)
 *                   all ──► released  (once no worker runs there; or at the run's end)
 *
 * `acquiring`: acquired, its images and fingerprint being made ready. Only `ready` takes
 * cells. `lost` and `stopping` abort what runs there; `draining` and `idle` let it finish.
 */
import type { Machine, Provider, ProvisionStep } from '../core/index.js';
import type { ImageInfo } from '../engine/index.js';
import type { Monitor } from '../metrics/index.js';
import type { HashedFingerprint } from './machine-setup.js';

export type MachineState = 'acquiring' | 'ready' | 'draining' | 'stopping' | 'idle' | 'lost' | 'released';

/** Which states each state may go to. */
const NEXT: Readonly<Record<MachineState, readonly MachineState[]>> = {
  acquiring: ['ready', 'lost', 'released'],
  ready: ['draining', 'stopping', 'idle', 'lost', 'released'],
  draining: ['stopping', 'lost', 'released'],
  stopping: ['lost', 'released'],
  idle: ['lost', 'released'],
  lost: ['released'],
  released: [],
};

/** What a machine's release does (its monitor, its events, the provider); called once. */
export type Releaser = (m: FleetMachine) => Promise<void>;

export class FleetMachine {
  private current: MachineState = 'acquiring';
  private why: string | undefined;
  private releasing: Promise<void> | undefined;
  /** Aborted when it stops taking cells (draining, stopping, idle, lost). */
  private readonly taking = new AbortController();
  /** Aborted when what runs there must stop (stopping, lost). */
  private readonly running = new AbortController();
  readonly images = new Map<string, ImageInfo>();
  /** Its hardware fingerprint, once collected; absent when it could not be (or is turned off). */
  fingerprint?: HashedFingerprint;
  /** When it reached each step of its provisioning (epoch ms): the provider's, then the fleet's. */
  readonly provision: Partial<Record<ProvisionStep, number>> = {};
  monitor?: Monitor;
  /** Its metrics stopped (once: an early release and the run's end both ask). */
  monitorStopped?: Promise<void>;
  /** Its workers still running. */
  private workers = 0;
  /** Its workers running a cell now. */
  busy = 0;

  constructor(
    readonly target: string,
    readonly provider: Provider,
    readonly machine: Machine,
    private readonly releaser: Releaser,
  ) {}

  get state(): MachineState {
    return this.current;
  }

  /** Why it left `ready` (lost: what broke; withdrawn; idle), for messages. */
  get reason(): string | undefined {
    return this.why;
  }

  /** Takes cells now. */
  get active(): boolean {
    return this.current === 'ready';
  }

  /** What made it lost (it stays lost once released); undefined while it was never lost. */
  get lostReason(): string | undefined {
    return this.lostWhy;
  }
  private lostWhy: string | undefined;

  /** Aborted once it takes no more cells. */
  get takingSignal(): AbortSignal {
    return this.taking.signal;
  }

  /** Aborted once what runs there must stop. */
  get runningSignal(): AbortSignal {
    return this.running.signal;
  }

  /** Its images are present (and its fingerprint taken): it takes cells. */
  ready(): void {
    this.go('ready');
  }

  /** Left its pool: finishes its current cells and takes no other. */
  drain(): boolean {
    if (!this.go('draining', 'withdrawn from its pool')) return false;
    this.taking.abort();
    this.releaseIfUnused();
    return true;
  }

  /** Left its pool `now`: what runs there stops (and runs again elsewhere). */
  stopNow(reason: Error): boolean {
    if (!this.go('stopping', 'withdrawn from its pool')) return false;
    this.taking.abort();
    this.running.abort(reason);
    this.releaseIfUnused();
    return true;
  }

  /** Had nothing to run for the target's idle time. */
  retire(): boolean {
    if (!this.go('idle', 'idle')) return false;
    this.taking.abort();
    this.releaseIfUnused();
    return true;
  }

  /**
   * Broke, could not be prepared, or is no longer ours: it takes nothing more and what runs
   * there stops. Released at once (`now`: it broke, there is nothing to wait for), or once
   * its repetitions have stopped (it stopped being ours: they record how they ended).
   */
  lose(reason: string, opts: { now: boolean; stop?: Error } = { now: true }): boolean {
    if (!this.go('lost', reason)) return false;
    this.lostWhy = reason;
    this.taking.abort();
    this.running.abort(opts.stop ?? new Error(reason));
    if (opts.now) void this.release();
    else this.releaseIfUnused();
    return true;
  }

  /** A worker starts on it. */
  workerStarted(): void {
    this.workers++;
  }

  /** A worker of it ended: the last one releases it unless the run still needs it. */
  workerEnded(): void {
    this.workers--;
    if (this.current !== 'ready') this.releaseIfUnused();
    else if (this.workers === 0) {
      // Its target has nothing left for it: it goes back now, not when the run ends.
      this.why = 'done';
      void this.release();
    }
  }

  /** Releases it once, whoever asks (a transition, the last worker, the run's end). */
  release(): Promise<void> {
    if (!this.releasing) {
      this.current = 'released';
      this.taking.abort();
      this.releasing = this.releaser(this);
    }
    return this.releasing;
  }

  private releaseIfUnused(): void {
    if (this.workers === 0 && this.current !== 'acquiring') void this.release();
  }

  private go(to: MachineState, why?: string): boolean {
    if (!NEXT[this.current].includes(to)) return false;
    this.current = to;
    if (why !== undefined) this.why = why;
    return true;
  }
}
