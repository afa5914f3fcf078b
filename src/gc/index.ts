/** `gc`: what crashed controllers left behind, found, destroyed and confirmed gone. */
export * from './collect.js';
export * from './model.js';
export { forget } from './forget.js';
export { RUN_LEDGER_PROVIDER } from './orphan-runs.js';
export { sshEngines } from './engines.js';
export { controllerRuns } from './controller.js';
export { sweepEngine, type SweepOptions, type SweepRow } from './engine-sweep.js';
