-- 033: where a bulk delete/restore job's attempts got to, so its next attempt goes on from there.
--
-- Each batch of a bulk_soft_delete or bulk_restore job writes, in its own transaction, the position
-- the soft-delete core gives it: how many ids of the job's list were handled, or the last id of the
-- filter's last committed page. An attempt handed back at a worker's shutdown, or one that failed,
-- started over from the first row: it walked again every row before the point it had reached, and
-- counted the rows that were already deleted before the job began as noop once more per attempt (a
-- job handed back five times counted 1,500 such rows as 4,863). NULL: no batch committed a position.

ALTER TABLE sdops_job_progress ADD COLUMN position text;
