export * from './sqlite-ledger.js';
