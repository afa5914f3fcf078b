/**
 * `requires:` through the CLI on this machine (no GPU): docs/hardware.md's examples/devices.yaml
 * runs its device entry with /dev/zero passed through at another path, and skips the GPU
 * entry with the reason — in the output, the JSON and the JUnit report. A matrix whose every
 * cell needs what the target lacks stops before anything starts (exit 3).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { ROOT } from '../helpers/catalog.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-e2e-devices-'));

interface RunJson {
  run: { status: string };
  results: { status: string; scores: { name: string; value: number }[] }[];
  skipped: { entry: string; target: string; reason: string }[];
}

describe('requirements and devices through the CLI', () => {
  it(
    'runs the device entry of examples/devices.yaml and skips the GPU entry, saying why',
    { timeout: 120_000 },
    async () => {
      const junit = path.join(work, 'junit.xml');
      const res = await cli(['run', path.join(ROOT, 'examples/devices.yaml'), '--json', '--junit', junit], {
        cwd: work,
      });
      expect(res.code, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout) as RunJson;
      expect(out.run.status).toBe('passed');
      expect(out.results).toHaveLength(3);
      for (const r of out.results) {
        expect(r.status).toBe('passed');
        expect(r.scores[0]!.name).toBe('seconds');
        expect(r.scores[0]!.value).toBeGreaterThan(0);
      }
      expect(out.skipped).toEqual([
        {
          cellId: expect.any(String),
          entry: 'gpu-info',
          target: 'here',
          reason: 'needs 1 GPU matching /T4|A10G|A100|H100/i; has none',
        },
      ]);
      expect(res.stderr).toMatch(/skipping gpu-info \[[0-9a-f]{12}\] on target 'here': needs 1 GPU/);
      const xml = readFileSync(junit, 'utf8');
      expect(xml).toMatch(/skipped="1"/);
      expect(xml).toMatch(/<skipped message="skipped: target 'here' needs 1 GPU matching/);
    },
  );

  it('a matrix none of whose cells the target can run exits 3 before anything starts', async () => {
    const file = path.join(work, 'gpu-only.yaml');
    writeFileSync(
      file,
      `name: gpu-only\ntargets: [{name: here, provider: local}]\nbenchmarks:\n  - benchmark: {name: g, image: benchyard/bench-tools:1, command: [nvidia-smi], requires: {gpu: 1, devices: [/dev/xdma0_user]}}\n`,
    );
    const res = await cli(['run', file], { cwd: work });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(
      /no cell of the matrix can run: target 'here' needs 1 GPU; has none; needs device \/dev\/xdma0_user; not there/,
    );
  });
});
