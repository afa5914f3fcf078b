// Preloaded with NODE_OPTIONS=--import=<this file> and BENCHYARD_TEST_PEAK_RSS=<file>: writes
// the process's peak resident set size (bytes) to that file as it exits.
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const out = process.env.BENCHYARD_TEST_PEAK_RSS;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS * 1024)));
