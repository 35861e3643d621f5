-- Erasure and the retention purge (docs/privacy.md) unlink a call from the records it
-- created (`records.call_id`): found by this index instead of a scan of every record.
CREATE INDEX records_by_call ON records (call_id);
-- Calls written before the privacy migration (or by a path that kept no hash): the backfill
-- hashes their callers, and walks only these rows, not the anonymous ones a purge left.
CREATE INDEX calls_to_backfill ON calls (id) WHERE caller_hash IS NULL AND purged_at IS NULL;

-- The calls stored before this migration, when callers were not hashed yet: the backfill
-- (`liza privacy purge`, the server's retention task) hashes those up to this id, once.
CREATE TABLE privacy_backfill (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    up_to_call_id BIGINT NOT NULL
);
INSERT INTO privacy_backfill (id, up_to_call_id) SELECT 1, COALESCE(MAX(id), 0) FROM calls;
