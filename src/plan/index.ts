export { cellId, planMatrix, type Plan } from './plan.js';
export * from './requirements.js';
export { MAX_SHARDS, parseShard, shardPlan } from './shard.js';
export {
  formatMount,
  mountWarnings,
  planMounts,
  sensitiveFolder,
  type Mount,
  type MountFacts,
} from './mounts.js';
