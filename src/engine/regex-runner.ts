/**
 * Runs score regexes so that no pattern can stall benchyard: short outputs on the linear
 * engine run here, everything else in a worker thread that is terminated at a deadline
 * or when the run is cancelled. The main thread keeps serving timers and signals meanwhile.
 */
import { Worker } from 'node:worker_threads';
import { regexValues, type RegexEngine } from './score-regex.js';

export interface RegexJob {
  pattern: string;
  engine: RegexEngine;
  /** Key of the text to search in `texts`. */
  source: string;
  /** Only the first match is wanted: the search stops there. */
  firstOnly?: boolean;
}

export type RegexAnswer = { values: string[] } | { error: string } | { unfinished: 'deadline' | 'cancelled' };

/** @internal the worker's protocol */
export type RegexReply = { index: number; values: string[] } | { index: number; error: string };
/** @internal the worker's protocol */
export interface RegexWorkerData {
  jobs: RegexJob[];
  texts: Record<string, string>;
}

/**
 * Longest text the linear engine searches on the main thread. Linear is not instant:
 * RE2 with a large pattern was measured at ~0.3 s per MiB, so 256 KiB blocks ≤ ~75 ms.
 */
export const INLINE_MAX_CHARS = 256 * 1024;

export async function runRegexJobs(
  jobs: readonly RegexJob[],
  texts: Readonly<Record<string, string>>,
  opts: { deadlineMs: number; signal?: AbortSignal },
): Promise<RegexAnswer[]> {
  const answers: (RegexAnswer | undefined)[] = jobs.map(() => undefined);
  const away: number[] = [];
  jobs.forEach((job, i) => {
    if (job.engine === 're2' && (texts[job.source]?.length ?? 0) <= INLINE_MAX_CHARS)
      answers[i] = attempt(() => ({ values: valuesOf(job, texts[job.source] ?? '') }));
    else away.push(i);
  });
  if (away.length > 0) {
    const needed = [...new Set(away.map((i) => jobs[i]!.source))];
    const replies = await inWorker(
      { jobs: away.map((i) => jobs[i]!), texts: Object.fromEntries(needed.map((s) => [s, texts[s] ?? ''])) },
      opts,
    );
    away.forEach((i, k) => (answers[i] = replies[k]));
  }
  return answers.map((a) => a ?? { error: 'no answer' });
}

/** What the worker runs too: one job's values. */
export function valuesOf(job: RegexJob, text: string): string[] {
  return regexValues(job.pattern, job.engine, text, job.firstOnly ? 1 : Infinity);
}

function attempt(f: () => RegexAnswer): RegexAnswer {
  try {
    return f();
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

async function inWorker(
  data: RegexWorkerData,
  opts: { deadlineMs: number; signal?: AbortSignal },
): Promise<RegexAnswer[]> {
  const answers: (RegexAnswer | undefined)[] = data.jobs.map(() => undefined);
  const rest = (a: RegexAnswer) => answers.map((x) => x ?? a);
  if (opts.signal?.aborted) return rest({ unfinished: 'cancelled' });
  let worker: Worker;
  try {
    worker = spawn(data);
  } catch (err) {
    return rest({
      error: `the regex worker did not start: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
  try {
    return await new Promise<RegexAnswer[]>((resolve) => {
      let left = data.jobs.length;
      const timer = setTimeout(() => finish({ unfinished: 'deadline' }), opts.deadlineMs);
      const finish = (a: RegexAnswer) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        resolve(rest(a));
      };
      const onAbort = () => finish({ unfinished: 'cancelled' });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (r: RegexReply) => {
        answers[r.index] = 'values' in r ? { values: r.values } : { error: r.error };
        if (--left === 0) finish({ error: 'no answer' });
      });
      worker.on('error', (err) => finish({ error: `the regex worker failed: ${err.message}` }));
      worker.on('exit', () => finish({ error: 'the regex worker exited' }));
    });
  } finally {
    // Interrupts a match in progress: a pattern stuck in backtracking ends here.
    await worker.terminate();
  }
}

function spawn(data: RegexWorkerData): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(ts ? './regex-worker.ts' : './regex-worker.js', import.meta.url);
  if (!ts) return new Worker(url, { workerData: data });
  // Run from sources (vitest, tsx): the worker needs the TypeScript loader as well.
  const load = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(load, { eval: true, workerData: data });
}
