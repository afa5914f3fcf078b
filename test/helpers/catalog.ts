import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/core/index.js';
import { loadCatalog, MapCatalog, validateMatrix, YamlSource } from '../../src/config/index.js';
import { planMatrix } from '../../src/plan/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'test/fixtures');

/** The example matrices (`examples/*.yaml`; `*-rbac.yaml` are Kubernetes manifests, not matrices). */
export function exampleMatrices(): string[] {
  return readdirSync(path.join(ROOT, 'examples')).filter(
    (f) => f.endsWith('.yaml') && !f.endsWith('-rbac.yaml'),
  );
}

let builtins: Promise<MapCatalog> | undefined;
/** The real built-in benchmark definitions (data, not code under test). */
export function builtinCatalog(): Promise<MapCatalog> {
  return (builtins ??= loadCatalog([path.join(ROOT, 'benchmarks')]));
}

/** A matrix given as text, validated against the built-in benchmarks (file name `m.yaml`). */
export async function loadMatrixText(text: string) {
  return validateMatrix(YamlSource.parse('m.yaml', text), await builtinCatalog());
}

/** A matrix given as text, planned against the built-in benchmarks. */
export async function planText(text: string) {
  return planMatrix(await loadMatrixText(text), await builtinCatalog());
}

/** The diagnostics a matrix text fails with, one line each; throws if it is valid. */
export async function configProblems(text: string): Promise<string[]> {
  try {
    await loadMatrixText(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  throw new Error('expected a ConfigError');
}
