export * from './engine-leases.js';
export * from './lease-image.js';
