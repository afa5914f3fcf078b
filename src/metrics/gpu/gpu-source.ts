/**
 * GPU metrics pushed by one long-lived `nvidia-smi --query-gpu=… --format=csv,noheader,nounits
 * -lms <interval>` process: each output line is one GPU at one instant, parsed as it arrives
 * and stamped with the time it was received.
 *
 * Before the first start it asks `nvidia-smi --help-query-gpu` once and queries only the
 * fields this driver documents (help-query.ts); without a readable help, the fields every
 * recorded driver documents. A machine without an NVIDIA GPU is not an error: no
 * nvidia-smi, "No devices were found" or an NVML failure gives no readings and one log
 * line. A field the driver still rejects is replaced by its older name or dropped and the
 * query restarted; a process that dies later is restarted with a backoff.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { silentLogger, type Logger } from '../../core/index.js';
import type { PushSource, Reading } from '../reading.js';
import { readHelpQueryGpu, selectGpuQueryFields } from './help-query.js';
import {
  alternativeGpuQueryField,
  GPU_QUERY_FIELDS,
  gpuQueryArgs,
  isDroppableGpuQueryField,
  parseGpuQueryRow,
  type GpuQueryField,
} from './query.js';

export { inventory } from './read-inventory.js';

export interface NvidiaSmiSourceOptions {
  /** Sampling interval, passed to `-lms`. */
  intervalMs: number;
  /** The nvidia-smi executable (default `nvidia-smi`, looked up on PATH). */
  command?: string;
  logger?: Logger;
  /** Receive-time clock, ms since the epoch (default `Date.now`). */
  clock?: () => number;
  /** Unexpected exits in a row before giving up (default 5). */
  maxRestarts?: number;
  /** Delay before the first restart; doubles per exit in a row, up to 30 s (default 1000). */
  restartDelayMs?: number;
  /**
   * Ask `--help-query-gpu` which fields the driver documents before the first query
   * (default true); false: query `GPU_QUERY_FIELDS` as they are.
   */
  discoverFields?: boolean;
}

/** How long `stop()` waits after SIGTERM before sending SIGKILL. */
export const NVIDIA_SMI_KILL_AFTER_MS = 2000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A process that ran this long before dying counts as healthy: the restart count starts over. */
const HEALTHY_RUN_MS = 60_000;
const MAX_LINE = 64 * 1024;
const DIAGNOSTIC_LINES = 20;
const INVALID_FIELD = /Field "([^"]+)" is not a valid field to query/;
/** What nvidia-smi prints when there is no usable GPU or driver. */
const NO_GPU =
  /No devices were found|NVML|NVIDIA-SMI has failed|couldn't communicate with the NVIDIA driver|Driver\/library version mismatch|Unable to determine the device handle/i;

interface Run {
  child: ChildProcess;
  fields: readonly GpuQueryField[];
  startedAt: number;
  partial: string;
  dataLines: number;
  /** Lines that were not data (stdout) and everything on stderr, last few only. */
  diagnostics: string[];
  exited: boolean;
  /** Resolves once the process has exited (or never started). */
  exit: Promise<void>;
}

interface RunEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: NodeJS.ErrnoException;
}

export class NvidiaSmiSource implements PushSource, AsyncDisposable {
  readonly name = 'gpu:nvidia-smi';
  private readonly command: string;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly maxRestarts: number;
  private readonly restartDelayMs: number;
  private fields: GpuQueryField[] = [...GPU_QUERY_FIELDS];
  /** Settles once the fields are chosen (the help asked, or not); shared by every start. */
  private fieldsChosen: Promise<void> | undefined;
  private generation = 0;
  private emit: ((readings: readonly Reading[]) => void) | undefined;
  private run: Run | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping = false;
  private pausedEmit: ((readings: readonly Reading[]) => void) | undefined;
  private failures = 0;
  private readonly seen = new Set<string>();

  constructor(private readonly opts: NvidiaSmiSourceOptions) {
    if (!Number.isFinite(opts.intervalMs) || opts.intervalMs <= 0)
      throw new RangeError(`intervalMs must be a positive number, got ${opts.intervalMs}`);
    this.command = opts.command ?? 'nvidia-smi';
    this.logger = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? Date.now;
    this.maxRestarts = opts.maxRestarts ?? 5;
    this.restartDelayMs = opts.restartDelayMs ?? 1000;
  }

  /** The fields currently queried (fewer than `GPU_QUERY_FIELDS` after an old driver rejected some). */
  get queriedFields(): readonly GpuQueryField[] {
    return this.fields;
  }

  /** The pid of the running nvidia-smi, if any. */
  get pid(): number | undefined {
    return this.run && !this.run.exited ? this.run.child.pid : undefined;
  }

  start(emit: (readings: readonly Reading[]) => void): void {
    if (this.started) {
      this.logger.warn('nvidia-smi source started twice; ignoring');
      return;
    }
    this.started = true;
    this.emit = emit;
    const generation = ++this.generation;
    this.fieldsChosen ??= this.opts.discoverFields === false ? Promise.resolve() : this.chooseFields();
    void this.fieldsChosen.then(() => {
      // A stop (or a stop and a new start) while the help ran: that start is void.
      if (!this.stopping && generation === this.generation) this.spawnRun();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.generation++;
    this.pausedEmit = undefined;
    this.emit = undefined;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.fieldsChosen; // the help's process, if still running, ends before stop() does
    const run = this.run;
    if (!run) return;
    if (!run.exited) {
      this.signal(run, 'SIGTERM');
      const kill = setTimeout(() => {
        this.logger.debug('nvidia-smi ignored SIGTERM; sending SIGKILL', { pid: run.child.pid });
        this.signal(run, 'SIGKILL');
      }, NVIDIA_SMI_KILL_AFTER_MS);
      await run.exit;
      clearTimeout(kill);
    }
    run.child.stdout?.destroy();
    run.child.stderr?.destroy();
  }

  /** Ends nvidia-smi until `resume` (a control repetition runs with no sampling at all). */
  async pause(): Promise<void> {
    const emit = this.emit;
    await this.stop();
    this.pausedEmit = emit;
  }

  resume(): void {
    const emit = this.pausedEmit;
    if (!emit) return;
    this.pausedEmit = undefined;
    this.stopping = false;
    this.started = false;
    this.start(emit);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** The driver's documented fields, chosen once; never rejects. */
  private async chooseFields(): Promise<void> {
    const documented = await readHelpQueryGpu(this.command);
    const chosen = documented && selectGpuQueryFields(documented);
    if (!chosen) {
      this.logger.debug(
        'nvidia-smi --help-query-gpu not read; querying the fields every known driver documents',
      );
      return;
    }
    this.fields = chosen.fields;
    if (chosen.undocumented.length)
      this.logger.info(
        `nvidia-smi does not document ${chosen.undocumented.join(', ')}; querying without them`,
        {
          undocumented: chosen.undocumented,
        },
      );
    // Energy is not in any recorded driver's list (NVML only): say so where one appears.
    if (chosen.energyFields.length)
      this.logger.info(
        `nvidia-smi documents ${chosen.energyFields.join(', ')}; benchyard does not record GPU energy yet`,
      );
    else
      this.logger.debug(
        'nvidia-smi documents no GPU energy field: GPU energy is not recorded (power draw is)',
      );
  }

  private spawnRun(): void {
    const fields = [...this.fields];
    let child: ChildProcess;
    try {
      // detached: its own process group, so a terminal's Ctrl-C does not kill it behind our
      // back, and stop() can signal anything it started.
      child = spawn(this.command, gpuQueryArgs(fields, this.opts.intervalMs), {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      this.logger.warn('could not start nvidia-smi: no GPU metrics', { error: String(err) });
      return;
    }
    let exited!: () => void;
    const run: Run = {
      child,
      fields,
      startedAt: performance.now(),
      partial: '',
      dataLines: 0,
      diagnostics: [],
      exited: false,
      exit: new Promise<void>((resolve) => (exited = resolve)),
    };
    this.run = run;
    const markExited = () => {
      run.exited = true;
      exited();
    };
    let ended = false;
    const end = (info: RunEnd) => {
      markExited();
      if (ended) return;
      ended = true;
      this.onEnd(run, info);
    };

    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.onStdout(run, chunk));
    child.stdout?.on('error', () => undefined);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) this.diagnose(run, line);
    });
    child.stderr?.on('error', () => undefined);
    child.on('exit', markExited);
    child.on('error', (error: NodeJS.ErrnoException) => {
      // Failing to start (ENOENT, EACCES) ends the run; a failed kill() does not.
      if (child.pid === undefined) end({ code: null, signal: null, error });
      else this.logger.debug('nvidia-smi process error', { error: error.message });
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => end({ code, signal }));
  }

  private onStdout(run: Run, chunk: string): void {
    const lines = (run.partial + chunk).split('\n');
    run.partial = lines.pop() ?? '';
    if (run.partial.length > MAX_LINE) {
      this.diagnose(run, run.partial);
      run.partial = '';
    }
    for (const line of lines) this.onLine(run, line);
  }

  private onLine(run: Run, raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line.trim()) return;
    const row = parseGpuQueryRow(line, this.clock(), run.fields);
    if (!row) {
      this.diagnose(run, line);
      return;
    }
    run.dataLines++;
    if (!this.seen.has(row.uuid)) {
      this.seen.add(row.uuid);
      this.logger.debug('nvidia-smi reports a GPU', { uuid: row.uuid, index: row.index, name: row.name });
    }
    const emit = this.emit;
    if (!emit || this.stopping || row.readings.length === 0) return;
    try {
      emit(row.readings);
    } catch (err) {
      this.logger.warn('GPU readings consumer failed', { error: String(err) });
    }
  }

  private diagnose(run: Run, line: string): void {
    run.diagnostics.push(line.trim().slice(0, 500));
    if (run.diagnostics.length > DIAGNOSTIC_LINES) run.diagnostics.shift();
  }

  private onEnd(run: Run, info: RunEnd): void {
    if (run.partial) this.onLine(run, run.partial);
    run.partial = '';
    if (this.run === run) this.run = undefined;
    if (this.stopping) return;
    const output = run.diagnostics.join('\n');
    const context = { command: this.command, code: info.code, signal: info.signal, output };

    if (info.error) {
      if (info.error.code === 'ENOENT') this.logger.info('nvidia-smi not found: no GPU metrics', context);
      else
        this.logger.warn('could not start nvidia-smi: no GPU metrics', {
          ...context,
          error: info.error.message,
        });
      return;
    }

    const invalid = run.dataLines === 0 ? INVALID_FIELD.exec(output) : null;
    if (invalid) {
      const field = invalid[1] ?? '';
      if (isDroppableGpuQueryField(field) && this.fields.includes(field)) {
        const other = alternativeGpuQueryField(field);
        this.fields = this.fields.flatMap((f) => (f !== field ? [f] : other ? [other] : []));
        this.logger.info(
          `nvidia-smi does not know the field ${field}; querying ${other ? `${other} instead` : 'without it'}`,
          { field },
        );
        this.spawnRun();
      } else {
        this.logger.warn(`nvidia-smi rejected the field ${field}: no GPU metrics`, context);
      }
      return;
    }

    if (run.dataLines === 0 && NO_GPU.test(output)) {
      this.logger.info('no usable NVIDIA GPU: no GPU metrics', context);
      return;
    }

    const ranMs = performance.now() - run.startedAt;
    this.failures = ranMs >= HEALTHY_RUN_MS ? 1 : this.failures + 1;
    if (this.failures > this.maxRestarts) {
      this.logger.warn(
        `nvidia-smi exited ${this.failures} times in a row; giving up on GPU metrics`,
        context,
      );
      return;
    }
    const delay = Math.min(this.restartDelayMs * 2 ** (this.failures - 1), MAX_RESTART_DELAY_MS);
    this.logger.warn(`nvidia-smi exited unexpectedly; restarting in ${delay} ms`, {
      ...context,
      attempt: this.failures,
    });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.spawnRun();
    }, delay);
  }

  /** Signals the process group while its leader lives (so the group id is still ours). */
  private signal(run: Run, signal: NodeJS.Signals): void {
    const pid = run.child.pid;
    if (run.exited || pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      run.child.kill(signal);
    }
  }
}
