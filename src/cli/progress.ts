/**
 * Progress of a run: a bar on an interactive terminal, plain lines (one per finished
 * repetition, with the machine it ran on: `on lab/10.0.0.12 #2`) in CI or when stderr is
 * not a TTY.
 */
import cliProgress from 'cli-progress';
import type { RunEvent } from '../schedule/index.js';
import { formatDuration } from '../core/index.js';
import { escapeControl, formatNumber, formatParams, machineLabel } from '../report/index.js';

export interface Progress {
  onEvent(e: RunEvent): void;
  stop(): void;
}

export function createProgress(
  total: number,
  opts: { interactive: boolean; write: (line: string) => void },
): Progress {
  // Every line carries text from users (params, image names) or containers (failure
  // reasons): control characters are escaped so one event stays one line.
  const write = (text: string) => opts.write(`${escapeControl(text.replace(/\n$/, ''))}\n`);
  let done = 0;
  // Machine id → host name, from the machines' ready events; an id not seen is shown as is.
  const hosts = new Map<string, string>();
  const line = (e: Extract<RunEvent, { type: 'repetition-finished' }>) => {
    const r = e.result;
    const where = machineLabel(e.cell.target.name, hosts.get(r.machineId) ?? r.machineId);
    const what = [e.cell.benchmark, formatParams(e.cell.params), `on ${where} #${r.repetition}`]
      .filter(Boolean)
      .join(' ');
    const detail =
      r.status === 'passed'
        ? r.scores
            .slice(0, 2)
            .map((s) => `${s.name}=${formatNumber(s.value)} ${s.unit}`)
            .join(', ')
        : `${r.failureClass}: ${(r.failureReason ?? '').slice(0, 160)}`;
    return `[${done}/${total}] ${what}: ${r.status} (${formatDuration(r.durationMs)}) ${detail}`;
  };

  /** Events shown the same way on a terminal and in CI. */
  const common = (e: RunEvent) => {
    if (e.type === 'machine-ready' || e.type === 'machine-joined')
      hosts.set(e.machine.id, e.machine.hostname);
    if (e.type === 'image-build') write(`building ${e.image} from ${e.context} for target '${e.target}'\n`);
    if (e.type === 'repetitions-extended') {
      total++;
      write(
        `${[e.cell.benchmark, formatParams(e.cell.params)].filter(Boolean).join(' ')}: results still vary, adding measured repetition ${e.measured}\n`,
      );
    }
  };

  if (!opts.interactive) {
    return {
      onEvent(e) {
        common(e);
        if (e.type === 'run-started')
          write(`run ${e.run.id}: ${total} repetitions in ${e.run.cells} cells\n`);
        if (e.type === 'machine-ready') write(`machine ${e.machine.id} ready for target '${e.target}'\n`);
        if (e.type === 'repetition-finished') {
          done++;
          write(`${line(e)}\n`);
        }
      },
      stop() {},
    };
  }

  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {value}/{total} repetitions | {eta_formatted} left | {current}',
      hideCursor: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onEvent(e) {
      common(e);
      if (e.type === 'repetitions-extended' && started) bar.setTotal(total);
      if (e.type === 'run-started') {
        write(`run ${e.run.id}: ${total} repetitions in ${e.run.cells} cells\n`);
        bar.start(total, 0, { current: '' });
        started = true;
      }
      if (!started) return;
      if (e.type === 'repetition-started')
        bar.update({
          current: escapeControl(`${e.cell.benchmark} ${formatParams(e.cell.params)} #${e.repetition}`),
        });
      if (e.type === 'repetition-finished') {
        done++;
        if (e.result.status === 'failed') {
          // Print failures above the bar as they happen, so they are not lost in the summary.
          bar.stop();
          write(`${line(e)}\n`);
          bar.start(total, done, { current: '' });
        } else bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
