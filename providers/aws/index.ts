export * from './aws-provider.js';
export * from './instance-type.js';
