-- Migration runner bookkeeping (owner: src/migration). A run is one execution of a data migration,
-- possibly spread over several runner sessions (start, resume, retry-failed). Each batch commits its
-- data change, its batch record and the run's checkpoint in one transaction, so these rows are the
-- single source of truth for "what has been applied".
CREATE TABLE sdops_migration_runs (
  run_id              uuid PRIMARY KEY,
  migration           text NOT NULL,
  migration_version   integer NOT NULL,
  state               text NOT NULL CHECK (state IN
                        ('running', 'stopping', 'stopped', 'succeeded', 'failed', 'partially_failed')),
  dry_run             boolean NOT NULL DEFAULT false,
  params              jsonb NOT NULL DEFAULT '{}'::jsonb,
  batch_size          integer NOT NULL CHECK (batch_size > 0),
  max_rows_per_second double precision CHECK (max_rows_per_second IS NULL OR max_rows_per_second > 0),
  max_failed_batches  integer NOT NULL CHECK (max_failed_batches >= 0),
  -- Checkpoint: the last key done (inclusive) in cursor_entity; NULL key = that entity not begun.
  cursor_entity       text,
  cursor_key          text,
  scan_complete       boolean NOT NULL DEFAULT false,
  total_estimate      bigint,
  rows_processed      bigint NOT NULL DEFAULT 0,
  rows_failed         bigint NOT NULL DEFAULT 0,
  batches_done        integer NOT NULL DEFAULT 0,
  batches_failed      integer NOT NULL DEFAULT 0,
  -- Lease: whoever holds owner may write batches; a heartbeat older than lease_timeout_ms (declared
  -- by the owner itself) means the owner is gone and another runner may take the run over.
  owner               text,
  heartbeat_at        timestamptz,
  lease_timeout_ms    integer NOT NULL DEFAULT 30000,
  -- Session bookkeeping: rate/ETA are computed over the current session.
  sessions            integer NOT NULL DEFAULT 1,
  session_started_at  timestamptz NOT NULL DEFAULT now(),
  session_start_rows  bigint NOT NULL DEFAULT 0,
  -- Root span of the latest session, so the next session can link to it.
  trace_id            text,
  span_id             text,
  last_error          text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  finished_at         timestamptz
);

CREATE INDEX sdops_migration_runs_created_idx ON sdops_migration_runs (created_at DESC);

CREATE TABLE sdops_migration_batches (
  run_id       uuid NOT NULL REFERENCES sdops_migration_runs (run_id) ON DELETE CASCADE,
  batch_no     integer NOT NULL,
  entity       text NOT NULL,
  -- Key range (key_from, key_to]: exclusive lower bound (NULL = start of table), inclusive upper.
  key_from     text,
  key_to       text NOT NULL,
  status       text NOT NULL CHECK (status IN ('succeeded', 'failed')),
  rows         bigint NOT NULL DEFAULT 0,
  attempts     integer NOT NULL DEFAULT 1,
  duration_ms  double precision NOT NULL DEFAULT 0,
  error        text,
  session      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, batch_no)
);

CREATE INDEX sdops_migration_batches_failed_idx ON sdops_migration_batches (run_id) WHERE status = 'failed';
