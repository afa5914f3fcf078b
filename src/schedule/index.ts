export { newRunId, Scheduler, type RunEvent, type RunOutcome, type SchedulerDeps } from './scheduler.js';
export { runRecord } from './run-record.js';
