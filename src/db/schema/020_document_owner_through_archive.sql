-- 020: archiving a customer changes none of its documents.
--
-- documents.owner_customer_id was a foreign key ON DELETE SET NULL to customers. Archive moves a row
-- to <table>_archive (a delete plus an insert), so archiving a customer set the owner of every
-- document it owned to NULL, live and deleted documents alike, and nothing could bring it back.
-- Archived rows keep their ids, so the owner stays resolvable through customers_archive: the foreign
-- key is replaced by two triggers that keep its guarantees for everything but archive.
--   * A document's owner exists, in customers or in customers_archive: checked when a document is
--     inserted or its owner changes, with the customer row locked FOR KEY SHARE as a foreign key does
--     (a concurrent purge waits for the insert, or the insert sees the customer gone).
--   * A customer that leaves both tables for good (purge of customers, purge-archived of
--     customers_archive) is forgotten as before: the owner of its documents becomes NULL.
--   * Archive (gone from customers, present in customers_archive) touches no document.
-- The AFTER trigger is per statement and reads the deleted rows from a transition table, so it runs
-- after archive's DELETE ... RETURNING has fed the INSERT into the archive in the same statement.

ALTER TABLE documents DROP CONSTRAINT documents_owner_customer_id_fkey;

CREATE FUNCTION sdops_document_owner_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.owner_customer_id IS NULL
     OR (TG_OP = 'UPDATE' AND NEW.owner_customer_id IS NOT DISTINCT FROM OLD.owner_customer_id) THEN
    RETURN NEW;
  END IF;
  PERFORM 1 FROM customers WHERE id = NEW.owner_customer_id FOR KEY SHARE;
  IF FOUND THEN
    RETURN NEW;
  END IF;
  PERFORM 1 FROM customers_archive WHERE id = NEW.owner_customer_id FOR KEY SHARE;
  IF FOUND THEN
    RETURN NEW;
  END IF;
  RAISE foreign_key_violation USING
    MESSAGE = format('documents.owner_customer_id %s: no such customer', NEW.owner_customer_id),
    TABLE = 'documents',
    CONSTRAINT = 'documents_owner_customer_id_fkey';
END
$$;

CREATE TRIGGER documents_owner_exists
  BEFORE INSERT OR UPDATE OF owner_customer_id ON documents
  FOR EACH ROW EXECUTE FUNCTION sdops_document_owner_exists();

CREATE FUNCTION sdops_forget_document_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE documents SET owner_customer_id = NULL
   WHERE owner_customer_id IN (
     SELECT g.id FROM gone g
      WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = g.id)
        AND NOT EXISTS (SELECT 1 FROM customers_archive a WHERE a.id = g.id));
  RETURN NULL;
END
$$;

CREATE TRIGGER customers_forget_document_owner
  AFTER DELETE ON customers REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION sdops_forget_document_owner();

CREATE TRIGGER customers_archive_forget_document_owner
  AFTER DELETE ON customers_archive REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION sdops_forget_document_owner();
