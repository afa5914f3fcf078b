export * from './sqlite-ledger.js';
export * from './state-db.js';
