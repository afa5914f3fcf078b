export { newRunId, Scheduler, type RunEvent, type RunOutcome, type SchedulerDeps } from './scheduler.js';
