export { cellId, planMatrix, type Plan } from './plan.js';
export * from './requirements.js';
