#!/usr/bin/env node
// Bundles the metrics agent (src/agent/main.ts and what it imports) into one CommonJS
// file, dist/agent/agent.cjs, for images/agent. Node 18 is what Debian bookworm ships.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/agent/main.ts'],
  outfile: 'dist/agent/agent.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  legalComments: 'external',
  logLevel: 'warning',
});
