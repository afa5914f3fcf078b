/** Every example matrix the docs show is valid: planning it gives cells and no problem. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog, loadMatrix } from '../../src/config/index.js';
import { planMatrix } from '../../src/plan/index.js';
import { exampleMatrices, ROOT } from '../helpers/catalog.js';

const examples = exampleMatrices();

describe('examples/', () => {
  it.each(examples)('%s validates and plans', async (file) => {
    const catalog = await loadCatalog([path.join(ROOT, 'benchmarks')]);
    const matrix = await loadMatrix(path.join(ROOT, 'examples', file), catalog);
    expect(planMatrix(matrix, catalog).cells.length).toBeGreaterThan(0);
  });

  it('has one per provider', () => {
    expect(examples).toEqual(
      expect.arrayContaining([
        'local.yaml',
        'ssh-pool.yaml',
        'aws.yaml',
        'softlayer.yaml',
        'slurm.yaml',
        'kubernetes.yaml',
      ]),
    );
  });
});
