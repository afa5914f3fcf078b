// Preloaded (`node --import`) into fuzzed CLI processes: as the process exits, writes its
// CPU time and peak resident memory to $BENCHYARD_FUZZ_USAGE, so the fuzz test can hold
// each case to a time and memory bound without an external `time` tool.
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.BENCHYARD_FUZZ_USAGE;
if (file)
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssBytes: u.maxRSS * 1024 }),
    );
  });
