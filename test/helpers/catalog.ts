import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog, MapCatalog } from '../../src/config/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'test/fixtures');

let builtins: Promise<MapCatalog> | undefined;
/** The real built-in benchmark definitions (data, not code under test). */
export function builtinCatalog(): Promise<MapCatalog> {
  return (builtins ??= loadCatalog([path.join(ROOT, 'benchmarks')]));
}
