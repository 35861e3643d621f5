-- A step row is written only by a writer that holds its call's row locked in the same
-- transaction, with a kind id it has just inserted or checked by the kind's words
-- (engine/store/src/postgres.rs). PostgreSQL's foreign-key checks on `step_rows` looked up
-- what the writer already knew, two index lookups for every step row, each also taking a
-- share lock on the row it found: about a fifth of PostgreSQL's CPU at saturation
-- (docs/BENCHMARKS.md, "PostgreSQL without foreign-key checks on steps"). So `step_rows`
-- keeps no foreign keys, and triggers keep what they did when rows are deleted by hand:
-- a deleted call takes its steps with it (TRUNCATE calls too: it needed CASCADE before), and
-- a step kind still in use can be neither deleted nor truncated. No writer deletes calls or
-- step kinds, so the webhook's path pays for none of them. Not checked any more: a step row
-- inserted or changed by hand, or an id of `calls` or `step_kinds` changed by hand.
-- SQLite keeps its foreign keys (checked in-process; dropping them would rebuild the table).
ALTER TABLE step_rows DROP CONSTRAINT step_rows_call_id_fkey;
ALTER TABLE step_rows DROP CONSTRAINT step_rows_kind_fkey;

CREATE FUNCTION step_rows_of_deleted_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM step_rows WHERE call_id IN (SELECT id FROM deleted_calls);
    RETURN NULL;
END
$$;
CREATE TRIGGER calls_take_their_steps AFTER DELETE ON calls
    REFERENCING OLD TABLE AS deleted_calls
    FOR EACH STATEMENT EXECUTE FUNCTION step_rows_of_deleted_calls();

CREATE FUNCTION step_rows_of_truncated_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE step_rows;
    RETURN NULL;
END
$$;
CREATE TRIGGER calls_truncated_take_their_steps BEFORE TRUNCATE ON calls
    FOR EACH STATEMENT EXECUTE FUNCTION step_rows_of_truncated_calls();

-- The share lock waits for the writers' transactions that inserted steps and keeps new ones
-- out until this one ends: a writer that read the kind before it was deleted cannot add a
-- step naming it after the check. A writer that reads the kinds again finds it gone and keeps
-- the kind anew.
CREATE FUNCTION step_kinds_in_use() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    used BIGINT;
BEGIN
    LOCK TABLE step_rows IN SHARE MODE;
    SELECT r.kind INTO used FROM step_rows r JOIN deleted_kinds d ON d.id = r.kind LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'step kind % is still used by steps', used
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER step_kinds_in_use AFTER DELETE ON step_kinds
    REFERENCING OLD TABLE AS deleted_kinds
    FOR EACH STATEMENT EXECUTE FUNCTION step_kinds_in_use();

CREATE FUNCTION step_kinds_truncated_in_use() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE step_rows IN SHARE MODE;
    IF EXISTS (SELECT 1 FROM step_rows) THEN
        RAISE EXCEPTION 'step kinds are still used by steps (truncate step_rows first)'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER step_kinds_truncated_in_use BEFORE TRUNCATE ON step_kinds
    FOR EACH STATEMENT EXECUTE FUNCTION step_kinds_truncated_in_use();
