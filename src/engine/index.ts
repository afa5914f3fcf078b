export * from './container-runner.js';
export * from './docker-errors.js';
export * from './image.js';
export * from './result-parser.js';
export * from './score-regex.js';
export * from './collect-artifacts.js';
export * from './copy-out.js';
export * from './build.js';
export type { MachineGpu } from './devices.js';
