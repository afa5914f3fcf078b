export * from './ssh-connector.js';
export * from './ssh-hosts-provider.js';
export * from './known-hosts.js';
