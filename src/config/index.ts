export {
  isFolderRef,
  loadBenchmarkFolder,
  loadCatalog,
  MapCatalog,
  parseBenchmark,
  primaryFirst,
} from './catalog.js';
export * from './limits.js';
export { loadMatrix, validateMatrix, type Matrix, type MatrixEntry } from './load-matrix.js';
export type { Expectation } from './expect-schema.js';
export { matrixJsonSchema } from './json-schema.js';
export { paramEnv, paramEnvName, substitute } from './placeholders.js';
export { readUserFile } from './read-user-file.js';
export { YamlSource } from './yaml-source.js';
