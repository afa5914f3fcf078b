/** Images by content digest: the project's image catalog, a registry client, and distribution to machines. */
export * from './catalog.js';
export * from './distribute.js';
export * from './ensure.js';
export * from './progress.js';
export * from './reference.js';
export * from './registry.js';
export * from './retry.js';
