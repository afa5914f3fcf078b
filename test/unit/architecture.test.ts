/**
 * The layers of architecture/layers.json: the data keeps the layering's rules, every folder
 * is in it, docs/ARCHITECTURE.md's module table says what it says, and `npm run lint:arch`
 * fails on an import that breaks it (planted in a scratch tree, never in the working tree).
 */
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { mayImportColumn, problems, readLayers, type LayerData } from '../../architecture/layers.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const data = readLayers();
const folders = data.layers.map((l) => l.folder);
const run = promisify(execFile);

/** `data` with one layer's lists changed (a deep copy: the real data stays as read). */
function edited(folder: string, change: Partial<LayerData['layers'][number]>): LayerData {
  const copy = structuredClone(data);
  const i = copy.layers.findIndex((l) => l.folder === folder);
  copy.layers[i] = { ...copy.layers[i]!, ...change };
  return copy;
}

describe('architecture/layers.json', () => {
  it('keeps the layering: lower layers never import higher, core nothing, only the CLI providers', () => {
    expect(problems(data)).toEqual([]);
  });

  it.each([
    ['core importing schedule', edited('src/core', { mayImport: ['src/schedule'] }), 'not a layer below'],
    [
      'plan importing schedule (upwards)',
      edited('src/plan', { mayImport: ['src/schedule'] }),
      'not a layer below',
    ],
    [
      'schedule importing a provider',
      edited('src/schedule', { mayImport: ['providers/local'] }),
      'only src/cli',
    ],
    [
      'a provider importing config code',
      edited('providers/ssh', { mayImport: ['src/config'] }),
      'providers import',
    ],
    ['the CLI importing browser code', edited('src/cli', { mayImport: ['src/web'] }), 'browser code'],
    ['an unknown folder', edited('src/gc', { mayImport: ['src/nowhere'] }), 'not a layer below'],
  ])('refuses data with %s', (_name, bad, message) => {
    expect(problems(bad).join('\n')).toContain(message);
  });

  it('refuses an exception that does not say why', () => {
    const bad = structuredClone(data);
    bad.exceptions.push({ from: 'src/plan', to: 'src/schedule', why: ' ' });
    expect(problems(bad).join('\n')).toContain('say why');
  });

  it('has every folder of src/ and providers/, and no code outside a folder', () => {
    for (const top of ['src', 'providers']) {
      const entries = readdirSync(path.join(ROOT, top), { withFileTypes: true });
      for (const e of entries.filter((x) => x.isDirectory())) expect(folders).toContain(`${top}/${e.name}`);
      expect(entries.filter((e) => e.isFile() && /\.[cm]?[jt]s$/.test(e.name)).map((e) => e.name)).toEqual(
        [],
      );
    }
  });
});

describe('docs/ARCHITECTURE.md module table', () => {
  const doc = readFileSync(path.join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8');
  const section = doc.slice(
    doc.indexOf('\n## Modules'),
    doc.indexOf('\n## ', doc.indexOf('\n## Modules') + 1),
  );
  const rows = [...section.matchAll(/^\| `([^`]+)` \| .* \| ([^|]*) \|$/gm)].map((m) => ({
    folder: m[1]!,
    mayImport: m[2]!.trim(),
  }));

  it('has a row per layer, in the data order (bottom first), and none for a folder not in the data', () => {
    const codeRows = rows.map((r) => r.folder).filter((f) => /^(src|providers)\/[a-z0-9-]+$/.test(f));
    expect(codeRows).toEqual(folders);
  });

  it.each(data.layers.map((l) => [l.folder, l] as const))('%s: "may import" is the data', (folder, layer) => {
    expect(rows.find((r) => r.folder === folder)?.mayImport).toBe(mayImportColumn(layer, data.exceptions));
  });
});

describe('npm run lint:arch', () => {
  const script = (
    JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts['lint:arch']!;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'benchyard-layers-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A tree of one-line modules beside copies of the config, the data and tsconfig.json. */
  function tree(name: string, files: Record<string, string>): string {
    const dir = path.join(scratch, name);
    for (const f of [
      '.dependency-cruiser.mjs',
      'tsconfig.json',
      'architecture/layers.mjs',
      'architecture/layers.json',
    ])
      write(dir, f, readFileSync(path.join(ROOT, f), 'utf8'));
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    for (const [f, text] of Object.entries(files)) write(dir, f, text);
    return dir;
  }
  const write = (dir: string, file: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  };
  async function lintArch(dir: string): Promise<{ code: number; out: string }> {
    const env = {
      ...process.env,
      PATH: `${path.join(dir, 'node_modules/.bin')}${path.delimiter}${process.env.PATH}`,
    };
    try {
      const { stdout, stderr } = await run('sh', ['-c', script], { cwd: dir, env });
      return { code: 0, out: stdout + stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  }

  // Imports every rule allows: the planted ones below are the only difference.
  const allowed = {
    'src/core/index.ts': 'export const core = 1;\n',
    'src/plan/index.ts': "import { core } from '../core/index.js';\nexport const plan = core;\n",
    'src/schedule/index.ts': "import { plan } from '../plan/index.js';\nexport const schedule = plan;\n",
    'src/config/targets/ssh-hosts.ts': 'export type SshHosts = { hosts: string[] };\nexport const x = 1;\n',
    'providers/ssh/index.ts':
      "import type { SshHosts } from '../../src/config/targets/ssh-hosts.js';\nexport const hosts: SshHosts = { hosts: [] };\n",
    'src/cli/main.ts': "import { hosts } from '../../providers/ssh/index.js';\nexport const main = hosts;\n",
  };

  it('passes a tree whose imports follow the layers', async () => {
    const result = await lintArch(tree('clean', allowed));
    expect(result.out).not.toContain('error');
    expect(result.code).toBe(0);
  });

  it('fails on planted imports, naming the rule each breaks', async () => {
    const result = await lintArch(
      tree('planted', {
        ...allowed,
        'src/core/__planted__.ts':
          "import { schedule } from '../schedule/index.js';\nexport const p = schedule;\n",
        'src/engine/__planted__.ts':
          "import { hosts } from '../../providers/ssh/index.js';\nexport const p = hosts;\n",
        'providers/ssh/__planted__.ts':
          "import { x } from '../../src/config/targets/ssh-hosts.js';\nexport const p = x;\n",
        'src/web/__planted__.ts': "import { readFileSync } from 'node:fs';\nexport const p = readFileSync;\n",
        'src/nowhere/__planted__.ts': "import { core } from '../core/index.js';\nexport const p = core;\n",
      }),
    );
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('error layers/src/core: src/core/__planted__.ts → src/schedule/index.ts');
    expect(result.out).toContain('src/core may import: nothing of the project');
    expect(result.out).toContain(
      'error layers/src/engine: src/engine/__planted__.ts → providers/ssh/index.ts',
    );
    expect(result.out).toMatch(
      /error layers\/providers\/ssh: providers\/ssh\/__planted__\.ts → src\/config\/targets/,
    );
    expect(result.out).toContain('error layers/src/web-is-browser-code: src/web/__planted__.ts → fs');
    expect(result.out).toContain(
      'error layers/unknown-folder: src/nowhere/__planted__.ts → src/core/index.ts',
    );
    expect(result.out).toContain('5 dependency violations');
  });

  it.each(data.exceptions.map((e) => [`${e.from} → ${e.to}`, e] as const))(
    'exception %s is still needed (else remove it)',
    async (_name, e) => {
      const { stdout } = await run(
        'npx',
        [
          'depcruise',
          e.from,
          '--config',
          '.dependency-cruiser.mjs',
          '--do-not-follow',
          '^src/',
          '--output-type',
          'json',
        ],
        { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
      );
      const modules = (
        JSON.parse(stdout) as { modules: { source: string; dependencies: { resolved: string }[] }[] }
      ).modules;
      const used = modules
        .filter((m) => m.source.startsWith(`${e.from}/`))
        .some((m) => m.dependencies.some((d) => d.resolved === e.to || d.resolved.startsWith(`${e.to}/`)));
      expect(used).toBe(true);
    },
  );
});
