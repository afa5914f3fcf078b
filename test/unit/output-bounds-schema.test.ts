import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONTAINER_POLICY } from '../../src/core/index.js';
import { planText } from '../helpers/catalog.js';

const matrix = (extra: string) => `name: bounds
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark:
      name: b
      image: benchyard/bench-tools:1
      command: ["true"]
${extra
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
`;

async function problems(extra: string): Promise<string> {
  const err = await planText(matrix(extra)).catch((e: unknown) => e);
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
  return err.message;
}

describe('what a benchmark may declare about its output and container', () => {
  it('refuses artifact and score paths that do not name a file', async () => {
    for (const p of [
      '/',
      '/.',
      '/out/',
      '/out/.',
      '//out/x',
      '/out/./x',
      '/out/../x',
      `/out/${'n'.repeat(256)}`,
    ])
      expect(await problems(`artifacts: ['${p}']`), p).toMatch(/must (name a file|be an absolute path)/);
    expect(
      await problems("scores: [{ name: s, unit: u, direction: higher, json: '$.a', from: '/out/' }]"),
    ).toMatch(/must name a file/);
    const ok = await planText(matrix("artifacts: ['/out/a_b', '/out/a/b', '/x']"));
    expect(ok.cells[0]!.artifacts).toEqual(['/out/a_b', '/out/a/b', '/x']);
  });

  it('caps declared artifacts at 32 and refuses one declared twice', async () => {
    const many = Array.from({ length: 33 }, (_, i) => `'/out/${i}'`).join(', ');
    expect(await problems(`artifacts: [${many}]`)).toMatch(/at most 32 artifacts/);
    expect(await problems("artifacts: ['/out/a', '/out/a']")).toMatch(/declared twice/);
  });

  it('takes a JSON path with script in it as a key, and refuses filters and recursion', async () => {
    const score = (json: string) => `scores: [{ name: s, unit: u, direction: higher, json: "${json}" }]`;
    await expect(planText(matrix(score("$['(process.exit(7))']")))).resolves.toBeDefined();
    expect(await problems(score('$..a'))).toMatch(/not a JSONPath .*at character 2/);
    expect(await problems(score('$[?(@.a)]'))).toMatch(/not a JSONPath/);
  });

  it('accepts RE2-only syntax and JavaScript-only syntax, refuses what neither takes', async () => {
    const score = (regex: string) => `scores: [{ name: s, unit: u, direction: higher, regex: '${regex}' }]`;
    await expect(planText(matrix(score('(?i)total: (\\d+)')))).resolves.toBeDefined(); // RE2 flags
    await expect(planText(matrix(score('n=(\\d+)(?= ok)')))).resolves.toBeDefined(); // lookahead
    expect(await problems(score('([0-9+'))).toMatch(/not a valid regular expression/);
  });

  it('confines containers by default: a pids limit and no new privileges, overridable', async () => {
    const p = await planText(matrix(''));
    expect(p.cells[0]!.container).toEqual(DEFAULT_CONTAINER_POLICY);
    expect(DEFAULT_CONTAINER_POLICY).toEqual({ pidsLimit: 4096, noNewPrivileges: true });
    const open = await planText(matrix('container: { pidsLimit: unlimited, noNewPrivileges: false }'));
    expect(open.cells[0]!.container).toEqual({ pidsLimit: 'unlimited', noNewPrivileges: false });
    expect(await problems('container: { pidsLimit: 3 }')).toMatch(/pidsLimit/);
    expect(await problems('container: { privileged: true }')).toMatch(/unknown key 'privileged'/);
  });
});
