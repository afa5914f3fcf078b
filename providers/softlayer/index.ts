export * from './softlayer-provider.js';
