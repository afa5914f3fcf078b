export { cellId, planMatrix, type Plan } from './plan.js';
