// CSV lines derived from recorded nvidia-smi -q -x outputs of real GPUs (test/fixtures/nvidia-smi/SOURCE.md);
// how each value was derived: test/fixtures/nvidia-smi-csv/README.md. Inline lines are synthetic.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  alternativeGpuQueryField,
  GPU_QUERY_FIELDS,
  GPU_THROTTLE_REASONS,
  gpuQueryArgs,
  isDroppableGpuQueryField,
  parseGpuQueryLine,
  parseGpuQueryRow,
  type GpuQueryField,
} from '../../src/metrics/gpu/index.js';
import type { Reading } from '../../src/metrics/reading.js';
import { FIXTURES } from '../helpers/catalog.js';

const AT = 1_700_000_000_000;
const MIB = 1024 * 1024;
const csv = (name: string) => readFileSync(path.join(FIXTURES, 'nvidia-smi-csv', name), 'utf8').trim();
const byName = (readings: readonly Reading[]) => new Map(readings.map((r) => [r.name, r]));
const T4 = 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a';

describe('gpuQueryArgs', () => {
  it('asks for every field, csv without header or units, every intervalMs', () => {
    expect(gpuQueryArgs(GPU_QUERY_FIELDS, 500)).toEqual([
      '--query-gpu=uuid,index,name,utilization.gpu,utilization.memory,memory.used,memory.total,power.draw,temperature.gpu,clocks.sm,clocks_throttle_reasons.active',
      '--format=csv,noheader,nounits',
      '-lms',
      '500',
    ]);
  });

  it('only uuid cannot be dropped', () => {
    expect(GPU_QUERY_FIELDS.filter((f) => !isDroppableGpuQueryField(f))).toEqual(['uuid']);
    expect(isDroppableGpuQueryField('not.a.field')).toBe(false);
    expect(isDroppableGpuQueryField('clocks_event_reasons.active')).toBe(true);
  });

  it('the clock-reason mask has its 535 name first and its older name as the alternative', () => {
    expect(alternativeGpuQueryField('clocks_event_reasons.active')).toBe('clocks_throttle_reasons.active');
    expect(alternativeGpuQueryField('clocks_throttle_reasons.active')).toBeUndefined();
    expect(alternativeGpuQueryField('power.draw')).toBeUndefined();
  });
});

describe('parseGpuQueryLine on lines derived from real GPUs', () => {
  it('Tesla T4: every metric with its unit, scope gpu, device = uuid, receive time', () => {
    const readings = parseGpuQueryLine(csv('tesla-t4.csv'), AT);
    for (const r of readings) expect(r).toMatchObject({ scope: 'gpu', device: T4, timestamp: AT });
    const m = byName(readings);
    expect(m.get('gpu.utilization.pct')).toMatchObject({ value: 0, unit: 'pct' });
    expect(m.get('gpu.memory.utilization.pct')).toMatchObject({ value: 0, unit: 'pct' });
    expect(m.get('gpu.memory.used.bytes')).toMatchObject({ value: 1032 * MIB, unit: 'bytes' });
    expect(m.get('gpu.memory.total.bytes')).toMatchObject({ value: 15360 * MIB, unit: 'bytes' });
    expect(m.get('gpu.power.draw.watts')).toMatchObject({ value: 26.78, unit: 'W' });
    expect(m.get('gpu.temperature.celsius')).toMatchObject({ value: 40, unit: 'C' });
    expect(m.get('gpu.clock.sm.mhz')).toMatchObject({ value: 585, unit: 'MHz' });
    expect(m.get('gpu.throttle.active')).toMatchObject({ value: 0, unit: 'bitmask' });
    // nvidia-smi documents no energy field (test/fixtures/nvidia-smi-help/SOURCE.md)
    expect(m.has('gpu.energy.consumed.joules')).toBe(false);
    expect(readings.every((r) => Number.isFinite(r.value))).toBe(true);
  });

  it('A10G: the gpu_idle throttle bit is set, no other', () => {
    const m = byName(parseGpuQueryLine(csv('a10g.csv'), AT));
    expect(m.get('gpu.throttle.active')?.value).toBe(1);
    expect(m.get('gpu.throttle.gpu_idle')).toMatchObject({ value: 1, unit: 'bool' });
    for (const [reason] of GPU_THROTTLE_REASONS.slice(1))
      expect(m.get(`gpu.throttle.${reason}`)?.value).toBe(0);
    expect(m.get('gpu.temperature.celsius')?.value).toBe(17);
  });

  it('A100 in MIG mode: the [N/A] utilizations are skipped, the rest is there', () => {
    const row = parseGpuQueryRow(csv('a100-sxm4.csv'), AT);
    expect(row).toMatchObject({ uuid: 'GPU-513536b6-7d19-9063-b049-1e69664bb298', index: 0 });
    expect(row?.name).toBe('NVIDIA A100-SXM4-80GB');
    const m = byName(row?.readings ?? []);
    expect(m.has('gpu.utilization.pct')).toBe(false);
    expect(m.has('gpu.memory.utilization.pct')).toBe(false);
    expect(m.get('gpu.memory.total.bytes')?.value).toBe(81920 * MIB);
    expect(m.get('gpu.power.draw.watts')?.value).toBe(67.03);
  });

  it('RTX 3080: a name with spaces, busy GPU', () => {
    const row = parseGpuQueryRow(csv('rtx-3080.csv'), AT);
    expect(row?.name).toBe('NVIDIA GeForce RTX 3080');
    const m = byName(row?.readings ?? []);
    expect(m.get('gpu.utilization.pct')?.value).toBe(65);
    expect(m.get('gpu.memory.utilization.pct')?.value).toBe(9);
    expect(m.get('gpu.memory.used.bytes')?.value).toBe(9184 * MIB);
    expect(m.get('gpu.clock.sm.mhz')?.value).toBe(1950);
  });

  it('one reading per metric: 7 numeric + the mask + 9 reason bits when all are known', () => {
    const readings = parseGpuQueryLine(csv('tesla-t4.csv'), AT);
    expect(readings).toHaveLength(7 + 1 + GPU_THROTTLE_REASONS.length);
    expect(new Set(readings.map((r) => r.name)).size).toBe(readings.length);
  });
});

describe('parseGpuQueryLine on synthetic edge cases', () => {
  const line = (values: Partial<Record<GpuQueryField, string>>, sep = ', ') =>
    GPU_QUERY_FIELDS.map((f) => values[f] ?? (f === 'uuid' ? T4 : f === 'name' ? 'Tesla T4' : '1')).join(sep);

  it('the mask under its 535 name reads like the old one', () => {
    const fields = GPU_QUERY_FIELDS.map((f) =>
      f === 'clocks_throttle_reasons.active' ? 'clocks_event_reasons.active' : f,
    );
    const text = csv('a10g.csv');
    const m = byName(parseGpuQueryLine(text, AT, fields));
    expect(m.get('gpu.throttle.active')?.value).toBe(1);
    expect(m.get('gpu.throttle.gpu_idle')?.value).toBe(1);
    expect(parseGpuQueryLine(text, AT, fields)).toEqual(parseGpuQueryLine(text, AT));
  });

  it.each([
    '[N/A]',
    '[Not Supported]',
    '[Unknown Error]',
    'N/A',
    '',
    '[Requested functionality has been deprecated]',
  ])('an unavailable value %j skips that metric only', (bad) => {
    const readings = parseGpuQueryLine(
      line({ 'power.draw': bad, 'clocks_throttle_reasons.active': bad }),
      AT,
    );
    const m = byName(readings);
    expect(m.has('gpu.power.draw.watts')).toBe(false);
    expect(m.has('gpu.throttle.active')).toBe(false);
    expect(m.has('gpu.throttle.gpu_idle')).toBe(false);
    expect(m.get('gpu.temperature.celsius')?.value).toBe(1);
    expect(readings.every((r) => Number.isFinite(r.value))).toBe(true);
  });

  it('throttle mask: several bits, upper-case hex', () => {
    const m = byName(parseGpuQueryLine(line({ 'clocks_throttle_reasons.active': '0x00000000000001A4' }), AT));
    expect(m.get('gpu.throttle.active')?.value).toBe(0x1a4);
    const set = GPU_THROTTLE_REASONS.filter(([r]) => m.get(`gpu.throttle.${r}`)?.value === 1).map(([r]) => r);
    expect(set).toEqual([
      'sw_power_cap',
      'sw_thermal_slowdown',
      'hw_power_brake_slowdown',
      'display_clock_setting',
    ]);
  });

  it('extra whitespace and CR, no space after commas', () => {
    const m = byName(parseGpuQueryLine(`  ${line({ 'temperature.gpu': '  55 ' }, ',')}  \r`, AT));
    expect(m.get('gpu.temperature.celsius')?.value).toBe(55);
  });

  it('a comma inside the name is joined back', () => {
    const row = parseGpuQueryRow(line({ name: 'Weird, Inc. GPU' }), AT);
    expect(row?.name).toBe('Weird, Inc. GPU');
    expect(byName(row?.readings ?? []).get('gpu.clock.sm.mhz')?.value).toBe(1);
  });

  it('parses with a reduced field list (a field dropped for an old driver)', () => {
    const fields = GPU_QUERY_FIELDS.filter((f) => f !== 'clocks_throttle_reasons.active');
    const values = [T4, '3', 'Tesla K80', '7', '2', '100', '11441', '60.5', '35', '823'];
    const row = parseGpuQueryRow(values.join(', '), AT, fields);
    expect(row).toMatchObject({ uuid: T4, index: 3, name: 'Tesla K80' });
    const m = byName(row?.readings ?? []);
    expect(m.get('gpu.clock.sm.mhz')?.value).toBe(823);
    expect(m.get('gpu.temperature.celsius')?.value).toBe(35);
    expect(m.has('gpu.throttle.active')).toBe(false);
  });

  it.each([
    ['a message', 'No devices were found'],
    ['an invalid field', 'Field "foo" is not a valid field to query.'],
    ['too few values', `${T4}, 0, Tesla T4, 5`],
    ['no uuid', line({ uuid: '[N/A]' })],
    ['a blank line', '   '],
    ['a first value that is not a GPU uuid', line({ uuid: 'not-a-uuid' })],
  ])('%s is not a data line', (_what, text) => {
    expect(parseGpuQueryRow(text, AT)).toBeUndefined();
    expect(parseGpuQueryLine(text, AT)).toEqual([]);
  });

  it('a value with a unit left on is skipped, never NaN', () => {
    const m = byName(parseGpuQueryLine(line({ 'temperature.gpu': '40 C' }), AT));
    expect(m.has('gpu.temperature.celsius')).toBe(false);
  });
});
