export * from './aws-provider.js';
