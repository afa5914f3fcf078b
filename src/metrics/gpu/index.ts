/**
 * NVIDIA GPU metrics: the streaming `nvidia-smi --query-gpu` source, its line parser, the
 * driver's documented fields (`--help-query-gpu`), and the `nvidia-smi -q -x` inventory.
 */
export * from './gpu-source.js';
export * from './help-query.js';
export * from './inventory.js';
export * from './query.js';
export * from './accelerators.js';
export * from './health-snapshot.js';
