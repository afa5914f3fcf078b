// Import boundaries: the layers of architecture/layers.json, checked by `npm run lint:arch`.
import { forbiddenRules, problems, readLayers } from './architecture/layers.mjs';

const layers = readLayers();
const wrong = problems(layers);
if (wrong.length > 0)
  throw new Error(`architecture/layers.json breaks the layering:\n  ${wrong.join('\n  ')}`);

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: forbiddenRules(layers),
  options: {
    doNotFollow: { path: 'node_modules' },
    // Keeps `import type` edges, marked type-only: some layers may import types where they may not import code.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // ESM-only packages (p-queue) resolve through their `exports`, or `layers/unresolvable` fires.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
