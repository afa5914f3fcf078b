/**
 * The schema now lives with the state file's one list of migrations (`src/state`); these
 * names stay for the tests that still build an old file from the DDL text
 * (`migrate(db, { to })` does it in one call).
 */
export {
  SCHEMA_V1,
  SCHEMA_V2,
  SCHEMA_V3,
  SCHEMA_V4,
  SCHEMA_V5,
  SCHEMA_V6,
  SCHEMA_V7,
  SCHEMA_V8,
  SCHEMA_V9,
  SCHEMA_V10,
} from '../state/schema-sql.js';
export { STATE_SCHEMA_VERSION as SCHEMA_VERSION } from '../state/migrations.js';
