-- 031: the outcome of each committed batch of a CLI call that rides out database outages.
--
-- Such a call runs a batch again when its connection fails. When the connection failed after the
-- COMMIT reached the server (a restart at that moment), the batch had landed and its answer was lost:
-- run again, a delete found its rows already deleted and counted them as noop, and a purge or archive
-- with --max-rows took one more batch past its bound (1,800 rows purged for --max-rows 1500). Each
-- such batch now writes its outcome here in its own transaction; a batch run again first looks for
-- it, and takes it instead of doing the work a second time. The call removes its receipts when it
-- ends; receipts older than a day (a call killed before that) go with the next call's.

CREATE TABLE sdops_batch_receipts (
  call_id uuid NOT NULL,
  batch integer NOT NULL,
  outcome jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (call_id, batch)
);
