-- 032: one id for this database, whatever host name, address, port or pooler a process reaches it by.
--
-- The database's own gauges (queue length, oldest wait, dead jobs, stale runs) are reported by every
-- long-running process under the database's identity, so that they all write one series. It was the
-- URL's host:port/name: an API on `localhost` and a worker on `127.0.0.1` wrote two series, and the
-- stale one of a stopped process kept a drained queue looking full for minutes (its alert pending).

CREATE TABLE sdops_database (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO sdops_database DEFAULT VALUES;
