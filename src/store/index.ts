export * from './elasticsearch-store.js';
export * from './elasticsearch-templates.js';
export * from './fanout.js';
export * from './sqlite-store.js';
export * from './artifact-dir.js';
export * from './elasticsearch-reader.js';
export * from './bulk-sink.js';
export * from './event-docs.js';
