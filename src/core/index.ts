export * from './benchmark.js';
export * from './errors.js';
export * from './labels.js';
export * from './model.js';
export * from './ports.js';
export * from './redact.js';
export * from './duration.js';
export * from './metric-line.js';
