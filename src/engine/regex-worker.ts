/**
 * Worker thread of regex-runner: runs the score regexes it is given, one after another,
 * and answers each as it finishes. The main thread terminates it at the deadline, so a
 * pattern that never finishes costs this thread only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { valuesOf, type RegexJob, type RegexReply, type RegexWorkerData } from './regex-runner.js';

const { jobs, texts } = workerData as RegexWorkerData;
jobs.forEach((job: RegexJob, index: number) => {
  let reply: RegexReply;
  try {
    reply = { index, values: valuesOf(job, texts[job.source] ?? '') };
  } catch (err) {
    reply = { index, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
