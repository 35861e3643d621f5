-- Storage per call (docs/BENCHMARKS.md, "Storage per finished call"): a conversation step is
-- found by its call, turn and position, never by a number of its own. Keyed by those (a table
-- WITHOUT ROWID), `steps` needs neither the `id` column nor a second B-tree for the unique
-- key: about 250 bytes less per call of 13 steps. The rewrite takes a few seconds per
-- million steps, once, at the first start of this version.
CREATE TABLE steps_keyed (
    call_id     BIGINT  NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    turn        BIGINT  NOT NULL,
    position    BIGINT  NOT NULL,
    node        TEXT    NOT NULL,
    message_ids TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    digits      TEXT,
    outcome     TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (call_id, turn, position)
) WITHOUT ROWID;
INSERT INTO steps_keyed (call_id, turn, position, node, message_ids, text, digits, outcome, created_at)
    SELECT call_id, turn, position, node, message_ids, text, digits, outcome, created_at FROM steps;
DROP TABLE steps;
ALTER TABLE steps_keyed RENAME TO steps;

-- (started_at DESC, id DESC) is the start of calls_by_start_from: the same walks, one index less
-- to write for every call.
DROP INDEX IF EXISTS calls_by_start;
