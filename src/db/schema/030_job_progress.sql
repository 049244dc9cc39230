-- 030: what a purge/archive job's attempts have committed, so its retry keeps to the job's row budget.
--
-- Each batch of a purge_expired or archive_entity job adds the candidate rows it took in the same
-- transaction that removes them; an attempt that fails (a database restart, a lease that ran out)
-- leaves exactly what it committed here, and the job's next attempt takes only the rest of its
-- maxRows. Without it a retry started over with the whole budget: one job with maxRows 20,000
-- hard-deleted 24,500 rows. A row stays when its job succeeds (deleted before the job's completion was
-- recorded, a crash in between would give the retry the whole budget again); rows unchanged for
-- 14 days are removed by the next purge/archive job that succeeds.

CREATE TABLE sdops_job_progress (
  job_id uuid PRIMARY KEY,
  rows bigint NOT NULL CHECK (rows >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
