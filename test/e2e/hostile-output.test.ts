/**
 * What comes out of a container cannot take benchyard down (issue 15): a score regex that
 * backtracks forever, a JSON path written as script, artifacts larger than memory, a flood
 * of metric lines. Each runs as a user would, through the CLI, on the local engine.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/catalog.js';
import { cli, startCli, until } from '../helpers/cli.js';
import { docker, managedContainers } from '../helpers/services.js';

interface Result {
  benchmark: string;
  status: string;
  failureClass?: string;
  failureReason?: string;
  scores: { name: string; value: number }[];
  artifacts: { path: string; location: string; bytes: number; truncated: boolean }[];
  metrics: { samples: number; appLinesDropped?: number };
  startedAt: string;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'by-hostile-'));
const PEAK_RSS = path.join(ROOT, 'test/helpers/peak-rss.mjs');
/** 40 `a`s and a `!`: `^(a+)+$` tries 2^40 ways to split them before giving up. */
const EVIL = "printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\\n'";

function matrix(name: string, benchmarks: string): string {
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}\nrepetitions: 1\ntargets: [{ name: here, provider: local }]\nbenchmarks:\n${benchmarks}`,
  );
  return file;
}

const inline = (name: string, command: string, extra = '') => `  - benchmark:
      name: ${name}
      image: benchyard/bench-tools:1
      network: none
      command: ["sh", "-c", ${JSON.stringify(command)}]
${extra
  .split('\n')
  .filter(Boolean)
  .map((l) => `      ${l}`)
  .join('\n')}
`;

/** The lookahead keeps it off RE2: it runs on the backtracking engine, in a worker, with a deadline. */
const BACKTRACKING = "scores: [{ name: hang, unit: x, direction: higher, regex: '^(?=a)(a+)+$' }]";

describe('hostile container output', () => {
  it('a backtracking regex fails its repetition within the timeout; a JSON path written as script fails only its own', async () => {
    const file = matrix(
      'parsers',
      inline('backtrack', EVIL, `timeout: 6s\n${BACKTRACKING}`) +
        inline(
          'scripted',
          'echo \'{"a": 1, "(process.exit(7))": 2}\'; echo \'{"a": 1}\' > /tmp/x',
          `scores: [{ name: s, unit: x, direction: higher, json: "$['(process.exit(7))']" }, { name: t, unit: x, direction: higher, json: "$['a;b']" }]`,
        ) +
        inline('fine', 'echo v=3', "scores: [{ name: v, unit: x, direction: higher, regex: 'v=(\\d+)' }]"),
    );
    const run = startCli(['run', file, '--json', '--state', path.join(work, 'parsers-state')], work);
    const ended = await until(
      async () => (/backtrack on here\/\S+ #1: failed/.test(run.out().stderr) ? Date.now() : undefined),
      120_000,
      'the backtracking repetition to end',
    );
    expect(await run.exited).toBe(1); // a repetition failed: never 3 and a stack
    const { stdout, stderr } = run.out();
    expect(stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    const results = (JSON.parse(stdout) as { results: Result[] }).results;
    const by = Object.fromEntries(results.map((r) => [r.benchmark, r]));
    // Its timeout is 6 s from the container's start; the container takes well under a second, the regex the rest.
    expect(ended - Date.parse(by.backtrack!.startedAt)).toBeLessThan(7_500);
    expect(by.backtrack).toMatchObject({ status: 'failed', failureClass: 'PARSE_FAILED' });
    expect(by.backtrack!.failureReason).toMatch(
      /^score not found: hang \(regex .* did not finish within the parse deadline/,
    );
    expect(by.scripted).toMatchObject({ status: 'failed', failureClass: 'PARSE_FAILED' });
    // The script is a key like any other: it was read, not run; `a;b` is one key, not a.b.
    expect(by.scripted!.failureReason).toMatch(/^score not found: t \(json \$\['a;b'\] on stdout\)/);
    expect(by.fine).toMatchObject({ status: 'passed', scores: [{ name: 'v', value: 3 }] });
  });

  it('Ctrl-C while a regex backtracks: cancelled at once, exit 130', async () => {
    const file = matrix(
      'interrupt',
      inline('backtrack', `sleep 1; ${EVIL}`, `timeout: 10m\n${BACKTRACKING}`),
    );
    const d = docker();
    const run = startCli(['run', file, '--json'], work);
    const runId = await until(
      async () => /^run (\S+):/m.exec(run.out().stderr)?.[1],
      60_000,
      'the run to start',
    );
    // The container ran and is gone: the regex is now matching (for up to 10 s).
    await until(
      async () => ((await managedContainers(d, runId)).length > 0 ? true : undefined),
      30_000,
      'the container',
    );
    await until(
      async () => ((await managedContainers(d, runId)).length === 0 ? true : undefined),
      30_000,
      'its removal',
    );
    const t0 = Date.now();
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const stored = JSON.parse((await cli(['results', '--json'], { cwd: work })).stdout) as {
      run: { id: string; status: string };
      results: Result[];
    };
    expect(stored.run).toMatchObject({ id: runId, status: 'cancelled' });
    expect(stored.results.map((r) => r.failureClass)).toEqual(['CANCELLED']);
  });

  it(
    '12 artifacts of 200 MB: streamed to disk one at a time, under the byte cap, in the memory of a run without them',
    { timeout: 180_000 },
    async () => {
      const names = Array.from({ length: 12 }, (_, i) => `/out/f${i + 1}`);
      const file = matrix(
        'artifacts',
        inline(
          'big-artifacts',
          `mkdir -p /out; for f in ${names.join(' ')}; do head -c 200000000 /dev/zero > $f; done; ln -s /etc/shadow /out/link`,
          `artifacts: [/out/link, ${names.join(', ')}]`,
        ),
      );
      const rssFile = path.join(work, 'peak-rss');
      const res = await cli(['run', file, '--json', '--state', path.join(work, 'artifacts-state')], {
        cwd: work,
        env: { NODE_OPTIONS: `--import=${PEAK_RSS}`, BENCHYARD_TEST_PEAK_RSS: rssFile },
      });
      expect(res.code, res.stderr).toBe(0);
      const [r] = (JSON.parse(res.stdout) as { results: Result[] }).results;
      // 1 GiB per repetition: five whole, the sixth cut where the cap falls, the rest said.
      expect(r!.artifacts.map((a) => [a.path, a.truncated])).toEqual([
        ...names.slice(0, 5).map((n) => [n, false]),
        [names[5], true],
      ]);
      const kept = r!.artifacts.reduce((n, a) => n + readFileSync(a.location).length, 0);
      expect(kept).toBe(1024 * 1024 * 1024);
      expect(res.stderr).toMatch(/artifact \/out\/f7 not kept: the repetition's artifacts reached 1024 MiB/);
      expect(res.stderr).toMatch(
        /artifact \/out\/link not kept: it is a symbolic link \(to "\/etc\/shadow"\)/,
      );
      // Held together in memory they were 847 MB of RSS; streamed, the run stays near its baseline (~180 MB).
      expect(Number(readFileSync(rssFile, 'utf8'))).toBeLessThan(300 * 1024 * 1024);
    },
  );

  it('a flood of metric lines is capped, counted and reported', { timeout: 180_000 }, async () => {
    const state = path.join(work, 'flood-state');
    const file = matrix('flood', inline('flood', "yes '@benchyard metric=flood value=1' | head -n 1000000"));
    const res = await cli(['run', file, '--json', '--state', state], { cwd: work });
    expect(res.code, res.stderr).toBe(0);
    const [r] = (JSON.parse(res.stdout) as { results: Result[] }).results;
    expect(r!.metrics.appLinesDropped).toBe(900_000);
    expect(res.stderr).toMatch(/900000 @benchyard lines past the cap of 100000 per repetition were dropped/);
    const db = new Database(path.join(state, 'benchyard.db'), { readonly: true });
    const stored = db
      .prepare("SELECT count(*) AS n FROM metric_samples WHERE scope = 'app' AND name = 'flood'")
      .get() as { n: number };
    db.close();
    expect(stored.n).toBe(100_000);
  });
});
