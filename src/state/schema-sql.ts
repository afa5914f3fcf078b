/**
 * The DDL of every version of `benchyard.db`, as each benchyard release wrote it: the text
 * of a released version never changes (files made by it are migrated by running what
 * follows it). `migrations.ts` applies them in order.
 */

export const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS runs (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  matrix_path  TEXT NOT NULL,
  status       TEXT NOT NULL,
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  cells        INTEGER NOT NULL,
  repetitions  INTEGER NOT NULL,
  passed       INTEGER NOT NULL DEFAULT 0,
  failed       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cells (
  run_id       TEXT NOT NULL REFERENCES runs(id),
  cell_id      TEXT NOT NULL,
  position     INTEGER NOT NULL,
  entry        TEXT NOT NULL,
  benchmark    TEXT NOT NULL,
  target       TEXT NOT NULL,
  provider     TEXT NOT NULL,
  params       TEXT NOT NULL,
  image        TEXT NOT NULL,
  argv         TEXT NOT NULL,
  repetitions  INTEGER NOT NULL,
  timeout_ms   INTEGER NOT NULL,
  PRIMARY KEY (run_id, cell_id)
);
CREATE TABLE IF NOT EXISTS results (
  run_id         TEXT NOT NULL,
  cell_id        TEXT NOT NULL,
  repetition     INTEGER NOT NULL,
  benchmark      TEXT NOT NULL,
  benchmark_version INTEGER NOT NULL,
  params         TEXT NOT NULL,
  target         TEXT NOT NULL,
  provider       TEXT NOT NULL,
  machine_id     TEXT NOT NULL,
  instance_type  TEXT NOT NULL,
  region         TEXT,
  hourly_price_usd REAL,
  image          TEXT NOT NULL,
  image_digest   TEXT NOT NULL,
  container_id   TEXT,
  status         TEXT NOT NULL,
  failure_class  TEXT,
  failure_reason TEXT,
  exit_code      INTEGER,
  scores         TEXT NOT NULL,
  started_at     TEXT NOT NULL,
  finished_at    TEXT NOT NULL,
  duration_ms    INTEGER NOT NULL,
  metrics        TEXT NOT NULL,
  PRIMARY KEY (run_id, cell_id, repetition)
);
CREATE TABLE IF NOT EXISTS metric_samples (
  run_id       TEXT NOT NULL,
  cell_id      TEXT NOT NULL,
  repetition   INTEGER NOT NULL,
  scope        TEXT NOT NULL,
  name         TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  ts           INTEGER NOT NULL,
  value        REAL NOT NULL,
  unit         TEXT NOT NULL,
  container_id TEXT,
  host         TEXT NOT NULL,
  PRIMARY KEY (run_id, cell_id, repetition, scope, name, host, seq)
) WITHOUT ROWID;
`;

/** v2: files copied out of containers, per repetition. */
export const SCHEMA_V2 = `ALTER TABLE results ADD COLUMN artifacts TEXT NOT NULL DEFAULT '[]';`;

/** v3: warmup repetitions are recorded but kept out of statistics. */
export const SCHEMA_V3 = `ALTER TABLE results ADD COLUMN warmup INTEGER NOT NULL DEFAULT 0;`;

/**
 * v4: a series is also told apart by its container and device (GPU uuid, disk,
 * interface): several series share a name on one host. `''` where there is none.
 */
export const SCHEMA_V4 = `
CREATE TABLE metric_samples_v4 (
  run_id       TEXT NOT NULL,
  cell_id      TEXT NOT NULL,
  repetition   INTEGER NOT NULL,
  scope        TEXT NOT NULL,
  name         TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  ts           INTEGER NOT NULL,
  value        REAL NOT NULL,
  unit         TEXT NOT NULL,
  container_id TEXT NOT NULL,
  host         TEXT NOT NULL,
  device       TEXT NOT NULL,
  PRIMARY KEY (run_id, cell_id, repetition, scope, name, host, container_id, device, seq)
) WITHOUT ROWID;
INSERT INTO metric_samples_v4
  SELECT run_id, cell_id, repetition, scope, name, seq, ts, value, unit, COALESCE(container_id, ''), host, ''
  FROM metric_samples;
DROP TABLE metric_samples;
ALTER TABLE metric_samples_v4 RENAME TO metric_samples;
`;

/** v5: the availability zone / datacenter a repetition ran in. */
export const SCHEMA_V5 = `ALTER TABLE results ADD COLUMN zone TEXT;`;

/**
 * v6: container events of every machine (docker events), one row each. `time_nano` is
 * the engine's time in ns (fits a 64-bit integer); `''` where a label is absent.
 */
export const SCHEMA_V6 = `
CREATE TABLE IF NOT EXISTS events (
  machine_id   TEXT NOT NULL,
  container_id TEXT NOT NULL,
  time_nano    INTEGER NOT NULL,
  action       TEXT NOT NULL,
  host         TEXT NOT NULL,
  name         TEXT NOT NULL,
  image        TEXT,
  exit_code    INTEGER,
  signal       TEXT,
  session      TEXT NOT NULL,
  run_id       TEXT NOT NULL,
  cell_id      TEXT NOT NULL,
  repetition   INTEGER,
  PRIMARY KEY (machine_id, container_id, time_nano, action)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, time_nano);
`;

/**
 * v7: the hardware fingerprint hash of the machine a repetition ran on, and each run's
 * machines with their whole fingerprint (`hardware`, JSON).
 */
export const SCHEMA_V7 = `
ALTER TABLE results ADD COLUMN fingerprint TEXT;
CREATE TABLE IF NOT EXISTS machines (
  run_id        TEXT NOT NULL REFERENCES runs(id),
  machine_id    TEXT NOT NULL,
  target        TEXT NOT NULL,
  provider      TEXT NOT NULL,
  instance_type TEXT NOT NULL,
  region        TEXT,
  zone          TEXT,
  hostname      TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  collected_at  TEXT NOT NULL,
  hardware      TEXT NOT NULL,
  PRIMARY KEY (run_id, machine_id)
);
`;

/**
 * v8: control repetitions (run with every metric collector off, to show what the
 * collectors cost the benchmark): recorded, kept out of statistics like warmups.
 */
export const SCHEMA_V8 = `ALTER TABLE results ADD COLUMN control INTEGER NOT NULL DEFAULT 0;`;

/**
 * v9: runs split among CI agents (`run --shard i/n --run-id ID`). Each shard's part is a
 * `run_shards` row of its own (started again, it replaces its row: never counted twice);
 * the run's row is their sum, with how many shards there are, how many have finished and
 * the worst status of those (`running` stays the run's status until all have). NULL for
 * runs that are not sharded.
 */
export const SCHEMA_V9 = `
ALTER TABLE runs ADD COLUMN shards_total INTEGER;
ALTER TABLE runs ADD COLUMN shards_done INTEGER;
ALTER TABLE runs ADD COLUMN shards_status TEXT;
CREATE TABLE IF NOT EXISTS run_shards (
  run_id       TEXT NOT NULL,
  shard        INTEGER NOT NULL,
  matrix_path  TEXT NOT NULL,
  status       TEXT NOT NULL,
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  cells        INTEGER NOT NULL,
  repetitions  INTEGER NOT NULL,
  passed       INTEGER NOT NULL,
  failed       INTEGER NOT NULL,
  PRIMARY KEY (run_id, shard)
);
`;

/**
 * v10: run tags (`run --tag`, a JSON array), and samples by time within a run (the web
 * UI's live views read a run's samples from a point in time on, every half second).
 */
export const SCHEMA_V10 = `
ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
CREATE INDEX IF NOT EXISTS metric_samples_by_time ON metric_samples (run_id, ts);
`;

/**
 * v11: the ledger (`src/ledger`): what each provider is creating or holds. Before v11 it
 * was made on every open by the ledger itself, so a file of any earlier version may have
 * it already.
 */
export const LEDGER_V11 = `
CREATE TABLE IF NOT EXISTS ledger_entries (
  key         TEXT PRIMARY KEY,
  provider    TEXT NOT NULL,
  kind        TEXT NOT NULL,
  session     TEXT NOT NULL,
  owner       TEXT NOT NULL,
  target      TEXT,
  region      TEXT,
  zone        TEXT,
  resource_id TEXT,
  status      TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  details     TEXT NOT NULL,
  error       TEXT
);
CREATE INDEX IF NOT EXISTS ledger_open ON ledger_entries (status) WHERE status NOT IN ('released', 'failed');
`;

/**
 * v12: named pools of machines (`src/pool`); made on every open by the pools before v12,
 * like the ledger. `port` 0: none given (the target's `ssh.port` applies); a key column
 * cannot be NULL.
 */
export const POOLS_V12 = `
CREATE TABLE IF NOT EXISTS pool_members (
  pool          TEXT NOT NULL,
  host          TEXT NOT NULL,
  port          INTEGER NOT NULL DEFAULT 0,
  user          TEXT,
  docker_socket TEXT,
  state         TEXT NOT NULL,
  now           INTEGER NOT NULL DEFAULT 0,
  added_at      TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (pool, host, port)
);
`;

/** v13: where a scheduler placed a machine (Slurm: cluster, partition, node, job, GRES, CPUs), JSON. */
export const SCHEMA_V13 = `ALTER TABLE machines ADD COLUMN placement TEXT;`;

/**
 * v14: why a repetition's hardware was not healthy (JSON list of reasons, NULL: healthy or
 * not judged), and a machine's provisioning timeline (JSON: step → ms since the request).
 */
export const SCHEMA_V14 = `
ALTER TABLE results ADD COLUMN suspect TEXT;
ALTER TABLE machines ADD COLUMN provision TEXT;
`;
