-- Storage per call (docs/BENCHMARKS.md, "Storage per finished call"): a conversation step is
-- found by its call, turn and position, never by a number of its own; the unique key on those
-- stays, the `id` column and its index go.
ALTER TABLE steps DROP COLUMN id;

-- (started_at DESC, id DESC) is the start of calls_by_start_from: the same walks, one index less
-- to write for every call.
DROP INDEX IF EXISTS calls_by_start;
