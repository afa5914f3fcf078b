/** Where benchyard's own files are, from source (tsx) or from the built `dist/`. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'benchyard') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the benchyard package root');
    dir = up;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
export const BUILTIN_BENCHMARKS = path.join(PACKAGE_ROOT, 'benchmarks');
export const VERSION: string = JSON.parse(
  readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8'),
).version;

/** The metrics agent's image recipe and bundled script (made by `npm run build`). */
export const AGENT_FILES = {
  dockerfile: path.join(PACKAGE_ROOT, 'images/agent/Dockerfile'),
  bundle: path.join(PACKAGE_ROOT, 'dist/agent/agent.cjs'),
};
