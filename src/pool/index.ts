export * from './pool-store.js';
