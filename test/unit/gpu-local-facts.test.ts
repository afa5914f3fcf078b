// What `local`'s describe() tells placement about this machine's GPUs, for each thing
// `nvidia-smi -q -x` can answer (the inventory is a stand-in; the engine is absent, so its
// runtimes are unknown). Inventory from the recorded T4 file: test/fixtures/nvidia-smi/SOURCE.md.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TargetSpec } from '../../src/core/index.js';
import { gpuFacts, parseGpuInventoryXml, type GpuInventoryResult } from '../../src/metrics/gpu/index.js';
import { placeByRequirements, planMatrix } from '../../src/plan/index.js';
import { LocalProvider } from '../../providers/local/index.js';
import { builtinCatalog, FIXTURES, loadMatrixText } from '../helpers/catalog.js';

const target: TargetSpec = {
  name: 'here',
  provider: 'local',
  options: { docker: { socketPath: '/nonexistent.sock' } },
};
const t4 = parseGpuInventoryXml(readFileSync(path.join(FIXTURES, 'nvidia-smi', 'tesla-t4.xml'), 'utf8'));
const facts = (result: GpuInventoryResult) =>
  new LocalProvider({ gpus: async () => gpuFacts(result) }).describe(target, new AbortController().signal);

describe('local describe(): GPUs known, none, or unknown', () => {
  it('known: by model with the PCI id; none: an empty list; unreadable: no gpus at all (unknown)', async () => {
    expect((await facts({ status: 'known', inventory: t4 })).gpus).toEqual([
      { model: 'Tesla T4', count: 1, driver: '515.105.01', memoryMiB: 15360, pciDeviceId: '10de:1eb8' },
    ]);
    expect((await facts({ status: 'none', reason: 'nvidia-smi not found' })).gpus).toEqual([]);
    const unknown = await facts({ status: 'unknown', reason: 'could not read nvidia-smi -q -x output' });
    expect(unknown).not.toHaveProperty('gpus');
  });

  it('placement skips a GPU cell on a machine with none, and keeps it where the GPUs are unknown', async () => {
    const plan = planMatrix(
      await loadMatrixText(`name: gpu
targets: [{name: here, provider: local}]
benchmarks:
  - benchmark:
      name: probe
      image: benchyard/bench-tools:1
      command: [nvidia-smi]
      requires: {gpu: {pci: "10de:1eb8"}}
`),
      await builtinCatalog(),
    );
    const place = async (r: GpuInventoryResult) =>
      placeByRequirements(plan, new Map([['here', await facts(r)]])).skipped.map((s) => s.reason);
    expect(await place({ status: 'none', reason: 'No devices were found' })).toEqual([
      'needs 1 GPU with PCI id 10de:1eb8; has none',
    ]);
    expect(await place({ status: 'unknown', reason: 'unreadable' })).toEqual([]);
    expect(await place({ status: 'known', inventory: t4 })).toEqual([]);
  });
});
