/** `benchyard doctor`: checks a machine before anyone spends money on it. */
export * from './checks.js';
export * from './probe.js';
export * from './targets.js';
export * from './examine.js';
