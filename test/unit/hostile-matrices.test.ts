import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../../src/core/index.js';
import { MAX_CELLS, MAX_FILE_BYTES, YamlSource } from '../../src/config/index.js';
import { configProblems, loadMatrixText } from '../helpers/catalog.js';
import { bomb } from '../fuzz/mutations.js';

const HEAD = 'name: a\ntargets: [{ name: here, provider: local }]\n';

/** The diagnostics YAML text fails to parse with, one line each. */
function yamlProblems(text: string): string[] {
  try {
    YamlSource.parse('m.yaml', text);
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** An inline benchmark with three integer params, given the axes' lengths. */
function cube(a: number, b: number, c: number, targets = 1): string {
  const axis = (n: number) => `[${Array.from({ length: n }, (_, i) => i + 1).join(', ')}]`;
  const names = Array.from({ length: targets }, (_, i) => `{ name: t${i}, provider: local }`).join(', ');
  return `name: big
targets: [${names}]
benchmarks:
  - benchmark:
      name: mine
      image: alpine
      command: [echo, "{{a}}", "{{b}}", "{{c}}"]
      params:
        a: { type: integer, default: 1 }
        b: { type: integer, default: 1 }
        c: { type: integer, default: 1 }
    params: { a: ${axis(a)}, b: ${axis(b)}, c: ${axis(c)} }
`;
}

describe('YAML the library leaves to toJS or lets through is a located problem', () => {
  it.each([
    [
      'an alias to an anchor never set',
      `${HEAD}x: [*nope]\n`,
      /^m\.yaml:3:5: YAML: alias '\*nope' names no anchor/,
    ],
    ['an alias before its anchor', 'a: *x\nb: &x 1\n', /^m\.yaml:1:4: YAML: alias '\*x' names no anchor/],
    ['an alias inside the value it names', 'a: &r [1, *r]\n', /^m\.yaml:1:11: YAML: alias '\*r' is inside/],
    ['an alias bomb', bomb(9, 10), /^m\.yaml:\d+:\d+: YAML: aliases expand the document beyond 250,000/],
    [
      'nesting deeper than 64',
      `x: ${'['.repeat(65)}${']'.repeat(65)}\n`,
      /^m\.yaml:1:\d+: YAML: nested deeper than 64/,
    ],
    [
      'nesting made deep by an alias',
      `a: &a ${'['.repeat(40)}${']'.repeat(40)}\nb: ${'['.repeat(40)}*a${']'.repeat(40)}\n`,
      /^m\.yaml:2:\d+: YAML: alias '\*a' nests the document deeper than 64/,
    ],
    ['a parser stack overflow', `x: ${'['.repeat(100_000)}\n`, /^m\.yaml:1:\d+: YAML: /],
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n', /^m\.yaml:3:1: YAML: duplicate key 'a'/],
    [
      'more than 1000 aliases',
      `s: &s 1\n${Array.from({ length: 1001 }, (_, i) => `k${i}: *s`).join('\n')}\n`,
      /^m\.yaml:1002:8: YAML: more than 1000 aliases in one file/,
    ],
  ])('%s', (_name, text, pattern) => {
    expect(yamlProblems(text)[0]).toMatch(pattern);
  });

  it('keeps what aliases are for: shared values, an anchor set again', () => {
    expect(YamlSource.parse('m.yaml', 'a: &x { k: 1 }\nb: *x\nc: &x 2\nd: *x\n').value()).toEqual({
      a: { k: 1 },
      b: { k: 1 },
      c: 2,
      d: 2,
    });
    const uses = Array.from({ length: 500 }, (_, i) => `k${i}: *s`).join('\n');
    expect(() => YamlSource.parse('m.yaml', `s: &s 1\n${uses}\n`)).not.toThrow();
  });

  it('finds duplicate keys in a large map in linear time (the library check is quadratic)', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`).join('\n');
    const start = performance.now();
    expect(yamlProblems(`${keys}\nk7: 2\n`)).toEqual(["m.yaml:20001:1: YAML: duplicate key 'k7'"]);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});

describe('files are read with bounds', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-hostile-'));

  it.each([
    [
      'a FIFO',
      () => {
        execFileSync('mkfifo', [path.join(dir, 'fifo')]);
        return path.join(dir, 'fifo');
      },
      /not a regular file \(a FIFO\)/,
    ],
    ['/dev/zero', () => '/dev/zero', /not a regular file \(a character device\)/],
    ['a folder', () => dir, /is a directory/],
    [
      'a symlink loop',
      () => {
        symlinkSync(path.join(dir, 'l2'), path.join(dir, 'l1'));
        symlinkSync(path.join(dir, 'l1'), path.join(dir, 'l2'));
        return path.join(dir, 'l1');
      },
      /too many symbolic links/,
    ],
    [
      'a file above the size limit',
      () => {
        writeFileSync(path.join(dir, 'big.yaml'), `# ${'x'.repeat(MAX_FILE_BYTES)}\n`);
        return path.join(dir, 'big.yaml');
      },
      /above the limit of 256 KiB/,
    ],
  ])('refuses %s at once as bad input', async (_name, make, pattern) => {
    const file = make();
    const start = performance.now();
    const err = await YamlSource.load(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read: `),
    );
    expect((err as Error).message).toMatch(pattern);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('reads NUL bytes as text and invalid UTF-8 as U+FFFD, for the schema to judge', async () => {
    writeFileSync(path.join(dir, 'bytes.yaml'), Buffer.from('name: a\u0000\xff\n', 'latin1'));
    const source = await YamlSource.load(path.join(dir, 'bytes.yaml'));
    expect(source.value()).toEqual({ name: 'a\u0000\ufffd' });
  });
});

describe(`a matrix above ${MAX_CELLS} cells is refused before anything is expanded`, () => {
  it('a 10⁹-cell matrix: exit-2 diagnostic with the count and the axes, in well under a second', async () => {
    const start = performance.now();
    const lines = await configProblems(cube(1000, 1000, 1000));
    expect(performance.now() - start).toBeLessThan(1000);
    expect(lines).toEqual([
      "m.yaml:12:13: the matrix expands to 1,000,000,000 cells, above the limit of 10,000: 'mine': a (1,000) × b (1,000) × c (1,000) × 1 target = 1,000,000,000. Shorten the axes, or split the matrix into several (at benchmarks[0].params)",
    ]);
  });

  it('counts targets and every entry; exactly the limit is fine', async () => {
    expect((await configProblems(cube(50, 50, 3, 2)))[0]).toMatch(
      /expands to 15,000 cells.* × 2 targets = 15,000/,
    );
    const m = await loadMatrixText(cube(100, 10, 10));
    expect(m.entries[0]!.axes.a).toHaveLength(100);
  });
});

describe('names from users never find inherited properties', () => {
  it('a param named constructor is undeclared, and a placeholder {{constructor}} names nothing', async () => {
    expect(
      (
        await configProblems(`${HEAD}benchmarks: [{ benchmark: sysbench-cpu, params: { constructor: 3 } }]\n`)
      )[0],
    ).toMatch(/parameter 'constructor' is not declared by benchmark 'sysbench-cpu'/);
    const inline = `${HEAD}benchmarks:\n  - benchmark: { name: mine, image: alpine, command: [echo, "{{constructor}}"] }\n`;
    expect((await configProblems(inline))[0]).toMatch(
      /placeholder '\{\{constructor\}\}' names no declared parameter/,
    );
  });
});
