-- 034: the rows a purge/archive job's attempts changed, children included, beside its budget's rows.
--
-- `rows` of a purge_expired or archive_entity job counts the candidate rows of its own entity its
-- batches took: what its maxRows budget counts. A parent's children go with it and are not among
-- them, so a job retried after its worker was killed reported `earlier_attempts` 9,950 where its
-- earlier attempt had moved 18,848 rows (orders with their items). Each batch now also adds every
-- row it removed or moved. NULL: written before this column (its job then reports `rows`).

ALTER TABLE sdops_job_progress ADD COLUMN changed bigint;
