/**
 * NVIDIA GPU metrics: the streaming `nvidia-smi --query-gpu` source, its line parser, and
 * the `nvidia-smi -q -x` inventory.
 */
export * from './gpu-source.js';
export * from './inventory.js';
export * from './query.js';
