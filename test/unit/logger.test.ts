import { describe, expect, it } from 'vitest';
import { stderrLogger } from '../../src/cli/logger.js';

describe('stderrLogger', () => {
  it('escapes control characters of container output and user text, keeping its own lines', () => {
    const lines: string[] = [];
    const log = stderrLogger('info', (l) => lines.push(l));
    log.warn('repetition failed: \u001b[2J\rhidden\u202eevil\nsecond line');
    expect(lines).toEqual(['warn: repetition failed: \\x1b[2J\\rhidden\\u202eevil\nsecond line\n']);
  });

  it('leaves out what is below its level', () => {
    const lines: string[] = [];
    const log = stderrLogger('warn', (l) => lines.push(l));
    log.info('not shown');
    log.debug('not shown');
    log.error('shown');
    expect(lines).toEqual(['error: shown\n']);
  });
});
