export * from './bootstrap.js';
export * from './compare.js';
export * from './describe.js';
export * from './holm.js';
export * from './mann-whitney.js';
