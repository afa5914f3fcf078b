#!/usr/bin/env node
// Checked before anything is loaded: an older Node would fail on the native module with a
// stack trace instead of saying what to do.
const SUPPORTED = 22;
const major = Number(process.versions.node.split('.')[0]);
if (major < SUPPORTED) {
  process.stderr.write(
    `benchyard needs Node.js ${SUPPORTED} or newer (this is ${process.version}). ` +
      `In a checkout, 'eval "$(scripts/node-env)"' puts the pinned Node.js 22 on PATH.\n`,
  );
  process.exit(3);
}
const { main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
