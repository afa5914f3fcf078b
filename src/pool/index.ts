export * from './pool-store.js';
export * from './members.js';
export * from './listing.js';
export * from './holders.js';
