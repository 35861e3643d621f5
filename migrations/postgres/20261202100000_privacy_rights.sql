-- Erasure and the retention purge (docs/privacy.md) unlink a call from the records it
-- created (`records.call_id`): found by this index instead of a scan of every record.
CREATE INDEX records_by_call ON records (call_id);
-- Calls written before the privacy migration (or by a path that kept no hash): the backfill
-- hashes their callers, and walks only these rows, not the anonymous ones a purge left.
CREATE INDEX calls_to_backfill ON calls (id) WHERE caller_hash IS NULL AND purged_at IS NULL;
