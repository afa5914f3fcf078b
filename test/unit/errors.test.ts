import { describe, expect, it } from 'vitest';
import {
  BenchmarkFailedError,
  CancelledError,
  ConfigError,
  InfrastructureError,
  InputError,
  parseDuration,
  redact,
} from '../../src/core/index.js';
import { EXIT, exitCodeFor } from '../../src/cli/exit-codes.js';

describe('exit codes', () => {
  it.each([
    [new ConfigError([{ file: 'm.yaml', line: 1, col: 1, path: '', message: 'x' }]), EXIT.badInput],
    [new InputError('no file'), 2],
    [new BenchmarkFailedError('1 failed'), 1],
    [new InfrastructureError('docker down'), 3],
    [new CancelledError(), 130],
    [new Error('bug'), 3],
  ])('%s → %i', (err, code) => {
    expect(exitCodeFor(err)).toBe(code);
  });
});

describe('redaction', () => {
  it('masks credentials in URLs and key=value text, and secret-named meta', () => {
    expect(redact('GET http://elastic:hunter2@127.0.0.1:9200/_bulk failed')).toBe(
      'GET http://elastic:***@127.0.0.1:9200/_bulk failed',
    );
    expect(redact('api_key=abc123 password: "p w"')).toBe('api_key=*** password: ***');
    const err = new InfrastructureError('x token=zzz', {
      apiKey: 'k',
      url: 'https://u:p@h',
      nested: { password: 'p' },
    });
    expect(err.message).toBe('x token=***');
    expect(err.meta).toEqual({ apiKey: '***', url: 'https://u:***@h', nested: { password: '***' } });
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    [30, 30_000],
    ['soon', undefined],
    ['-1s', undefined],
  ] as const)('%s → %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
