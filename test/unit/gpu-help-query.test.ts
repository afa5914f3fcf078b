// `nvidia-smi --help-query-gpu` outputs recorded from real drivers 465 to 610:
// test/fixtures/nvidia-smi-help/SOURCE.md. The proof that the GPU stream asks only for
// documented fields, whatever the driver.
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  GPU_QUERY_FIELDS,
  GPU_QUERY_WANTED,
  parseHelpQueryGpu,
  selectGpuQueryFields,
} from '../../src/metrics/gpu/index.js';
import { FIXTURES } from '../helpers/catalog.js';

const DIR = path.join(FIXTURES, 'nvidia-smi-help');
const files = readdirSync(DIR).filter((f) => f.endsWith('.txt'));
const help = (file: string) => readFileSync(path.join(DIR, file), 'utf8');
const driverOf = (file: string) => file.split('-')[0]!;

describe('recorded --help-query-gpu outputs', () => {
  it('cover driver generations from 465 to 610', () => {
    expect(files.map(driverOf)).toEqual(['465.27', '535.129.03', '590.48.01', '595.80', '610.57.04']);
  });

  it.each(files)('%s documents every field of the fallback list', (file) => {
    const documented = parseHelpQueryGpu(help(file))!;
    expect(documented.size).toBeGreaterThan(100);
    expect(GPU_QUERY_FIELDS.filter((f) => !documented.has(f))).toEqual([]);
  });

  it.each(files)('%s: the stream asks for documented fields only, and misses none it wants', (file) => {
    const documented = parseHelpQueryGpu(help(file))!;
    const chosen = selectGpuQueryFields(documented)!;
    expect(chosen.fields.every((f) => documented.has(f))).toBe(true);
    expect(chosen.fields).toHaveLength(GPU_QUERY_WANTED.length);
    expect(chosen.undocumented).toEqual([]);
  });

  it('the clock-reason mask: its old name on 465, its 535 name from then on', () => {
    const mask = (file: string) =>
      selectGpuQueryFields(parseHelpQueryGpu(help(file))!)!.fields.find((f) => f.includes('reasons'));
    expect(Object.fromEntries(files.map((f) => [driverOf(f), mask(f)]))).toEqual({
      '465.27': 'clocks_throttle_reasons.active',
      '535.129.03': 'clocks_event_reasons.active',
      '590.48.01': 'clocks_event_reasons.active',
      '595.80': 'clocks_event_reasons.active',
      '610.57.04': 'clocks_event_reasons.active',
    });
  });

  it('no driver documents total_energy_consumption or any energy field', () => {
    for (const file of files) {
      const documented = parseHelpQueryGpu(help(file))!;
      expect(documented.has('total_energy_consumption')).toBe(false);
      expect(selectGpuQueryFields(documented)!.energyFields).toEqual([]);
    }
  });

  it('reads aliases, and not the quoted words that start some descriptions', () => {
    const documented = parseHelpQueryGpu(help('590.48.01-linux-h200.txt'))!;
    for (const name of ['name', 'gpu_name', 'clocks.sm', 'clocks.current.sm', 'gpu.power.draw.average'])
      expect(documented.has(name)).toBe(true);
    // `"0: Default" means multiple contexts are allowed per device.` is description text
    expect([...documented].filter((n) => /\s/.test(n))).toEqual([]);
    expect(documented.has('Default')).toBe(false);
  });
});

describe('help text that cannot be trusted', () => {
  it('is not help: undefined, so the stream falls back to GPU_QUERY_FIELDS', () => {
    expect(parseHelpQueryGpu('')).toBeUndefined();
    expect(
      parseHelpQueryGpu("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."),
    ).toBeUndefined();
    expect(
      parseHelpQueryGpu('List of valid properties to query for the switch "--query-gpu":\n\n'),
    ).toBeUndefined();
  });

  it('a help without uuid selects nothing; a field the driver lacks is reported, not asked for', () => {
    expect(selectGpuQueryFields(new Set(['index', 'name']))).toBeUndefined();
    const chosen = selectGpuQueryFields(
      new Set(['uuid', 'index', 'power.draw', 'total_energy_consumption']),
    )!;
    expect(chosen.fields).toEqual(['uuid', 'index', 'power.draw']);
    expect(chosen.undocumented).toEqual([
      'name',
      'utilization.gpu',
      'utilization.memory',
      'memory.used',
      'memory.total',
      'temperature.gpu',
      'clocks.sm',
      'clocks_event_reasons.active',
    ]);
    expect(chosen.energyFields).toEqual(['total_energy_consumption']);
  });

  it('any text: never throws, and every name read is quoted alone on a line of it', () => {
    const header = 'List of valid properties to query for the switch "--query-gpu":\n';
    const line = fc.oneof(
      fc.string(),
      fc.stringMatching(/^"[a-z_.]{1,12}"( or "[a-z_.]{1,12}")?$/),
      fc.constantFrom('"0: Default" means x', '', '"a" "b"', '"x" or'),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(line, { maxLength: 30 }), (withHeader, lines) => {
        const text = (withHeader ? header : '') + lines.join('\n');
        const names = parseHelpQueryGpu(text);
        if (!withHeader) expect(names).toBeUndefined();
        for (const n of names ?? [])
          expect(lines.some((l) => l.trim().startsWith('"') && l.includes(`"${n}"`))).toBe(true);
      }),
    );
  });
});
