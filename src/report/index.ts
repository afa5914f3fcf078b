export * from './summary.js';
export * from './tables.js';
export * from './terminal-text.js';
export * from './compare-render.js';
export * from './junit.js';
export * from './compare-cells.js';
export * from './html/model.js';
export * from './html/render.js';
