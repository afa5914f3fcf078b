export * from './summary.js';
export * from './tables.js';
export * from './compare-render.js';
export * from './junit.js';
