/**
 * collectFingerprint against this machine's real Docker engine: the probe, run in
 * `benchyard/base:bookworm` (built by `scripts/services up images`), must see the machine
 * Node sees. Like the other integration tests, it fails when the engine does not answer.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { collectFingerprint, fingerprintHash } from '../../src/fingerprint/index.js';
import { docker } from '../helpers/services.js';

const IMAGE = 'benchyard/base:bookworm';
const d = docker();

describe('collectFingerprint on the real Docker engine', () => {
  it('reads this machine through a probe container, leaves no container, and hashes the same twice', async () => {
    const fp = await collectFingerprint(d, { image: IMAGE, timeoutMs: 60_000 });
    expect(fp.problems).toEqual([]);

    const modelName = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    expect(fp.cpu?.model).toBe(modelName);
    // os.cpus() counts logical CPUs: `threads`; `cores` are physical (fewer with SMT).
    expect(fp.cpu?.threads).toBe(os.cpus().length);
    expect(fp.cpu!.threads % fp.cpu!.cores).toBe(0);
    expect(fp.kernel).toBe(os.release());
    expect(fp.memory?.totalBytes).toBe(os.totalmem());
    expect(fp.docker?.storageDriver).toMatch(/\S/);
    expect(fp.docker?.version).toMatch(/^\d+\.\d+/);
    expect(fp.gpus).toEqual([]);
    expect(fp.os?.id).toBeTruthy();

    const left = await d.listContainers({ all: true, filters: { label: ['benchyard.probe=fingerprint'] } });
    expect(left).toEqual([]);

    const hash = fingerprintHash(fp);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintHash(await collectFingerprint(d, { image: IMAGE, timeoutMs: 60_000 }))).toBe(hash);
  });
});
