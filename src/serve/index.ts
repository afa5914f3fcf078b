export * from './server.js';
export * from './ports.js';
export type { RunDetail, RunSnapshot } from './api.js';
export type { LiveOptions } from './live.js';
export type { CellView, RunSummary } from './views.js';
export type { SeriesChunk } from './samples.js';
export { checkExposure, isLoopback } from './auth.js';
