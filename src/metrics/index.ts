export * from './cgroup.js';
export * from './container-sampler.js';
