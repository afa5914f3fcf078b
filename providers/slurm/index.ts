export { SlurmProvider } from './slurm-provider.js';
