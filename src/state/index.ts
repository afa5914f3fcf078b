export * from './state-db.js';
export * from './migrations.js';
