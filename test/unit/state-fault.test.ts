/**
 * How a failing state folder reads (issue 15): the store's fault in words with the file
 * named, and what became of the run and what to do, in the one message `run` ends with.
 */
import { describe, expect, it } from 'vitest';
import { InfrastructureError, isDiskFull, isFileSystemFault, stateFault } from '../../src/core/index.js';
import { storeFailure } from '../../src/run/index.js';

const sqliteError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('stateFault', () => {
  it.each([
    ['SQLITE_FULL', 'the disk is full (SQLITE_FULL)'],
    ['ENOSPC', 'the disk is full (ENOSPC)'],
    ['EDQUOT', 'the disk quota is used up (EDQUOT)'],
    ['SQLITE_BUSY', 'another process held it locked for more than 5 s (SQLITE_BUSY)'],
    ['SQLITE_IOERR_WRITE', 'an I/O error: the disk or its file system is failing (SQLITE_IOERR_WRITE)'],
    ['SQLITE_CORRUPT', 'the file is damaged or is not a benchyard store (SQLITE_CORRUPT)'],
    ['EACCES', 'permission denied (EACCES)'],
  ])('%s: says what is wrong with the named file, as an InfrastructureError', (code, why) => {
    const fault = stateFault('storing metric samples in', '/s/benchyard.db', sqliteError(code, 'x'));
    expect(fault).toBeInstanceOf(InfrastructureError);
    expect(fault.message).toBe(`storing metric samples in /s/benchyard.db failed: ${why}`);
    expect(fault.meta).toEqual({ file: '/s/benchyard.db', code });
  });

  it('keeps the message of an error it has no words for', () => {
    expect(stateFault('opening the store', '/s/benchyard.db', new Error('schema v99 is newer')).message).toBe(
      'opening the store /s/benchyard.db failed: schema v99 is newer',
    );
  });

  it('tells a full disk and a file system fault from the rest', () => {
    expect(isDiskFull(sqliteError('SQLITE_FULL', ''))).toBe(true);
    expect(isDiskFull(sqliteError('ENOSPC', ''))).toBe(true);
    expect(isDiskFull(sqliteError('SQLITE_BUSY', ''))).toBe(false);
    expect(isFileSystemFault(sqliteError('EROFS', ''))).toBe(true);
    expect(isFileSystemFault(sqliteError('EEXIST', ''))).toBe(false);
    expect(isFileSystemFault(new Error('no code'))).toBe(false);
  });
});

describe('storeFailure: what `run` ends with', () => {
  const full = stateFault('storing metric samples in', 'st/benchyard.db', sqliteError('SQLITE_FULL', ''));

  it('a run marked error: the fault, what was lost, and what to do', () => {
    const err = storeFailure({
      fault: full,
      runId: 'r1',
      state: 'st',
      endStored: true,
      lost: { samples: 760, events: 2 },
    });
    expect(err).toBeInstanceOf(InfrastructureError);
    expect(err.message.split('\n')).toEqual([
      'storing metric samples in st/benchyard.db failed: the disk is full (SQLITE_FULL)',
      "run r1 stopped; it is marked 'error' with what was stored before the failure (760 metric samples and 2 container events after the failure were not stored).",
      'Free space on the disk under st (or give another --state), then run again.',
    ]);
  });

  it("a run whose end could not be stored: it reads 'running' until gc marks it cancelled", () => {
    const locked = stateFault(
      'recording the end of run r2 in',
      'st/benchyard.db',
      sqliteError('SQLITE_BUSY', ''),
    );
    const err = storeFailure({
      fault: locked,
      runId: 'r2',
      state: 'st',
      endStored: false,
      lost: { samples: 0, events: 0 },
      other: new Error('cell x failed'),
    });
    expect(err.message).toContain(
      "run r2 stopped, and its end could not be stored either: it shows as 'running' until `benchyard gc --state st` marks it cancelled.",
    );
    expect(err.message).toContain('Find the process that holds st/benchyard.db locked');
    expect(err.message).toMatch(/\(the run also failed: cell x failed\)$/);
  });

  it('a run never stored, on a read-only folder', () => {
    const ro = stateFault('opening the store', 'st/benchyard.db', sqliteError('SQLITE_READONLY', ''));
    const err = storeFailure({
      fault: ro,
      runId: 'r3',
      state: 'st',
      endStored: undefined,
      lost: { samples: 0, events: 0 },
    });
    expect(err.message).toContain('run r3 stopped before it was stored.');
    expect(err.message).toContain('Make st writable');
  });
});
