/** The application layer of `benchyard run`: one run of a plan, its checks and its gate. */
export * from './execute.js';
export * from './ports.js';
export * from './gate.js';
export * from './changepoint-gate.js';
export * from './run-gate.js';
export * from './expectations.js';
export * from './verdict.js';
export * from './placement.js';
export * from './state-failure.js';
export { checkRunId, shardPart, type RunPlace } from './run-id.js';
export { resolveBaseline, type Baseline, type BaselineQuery } from './baseline.js';
export { closing, type Closing } from './closing.js';
