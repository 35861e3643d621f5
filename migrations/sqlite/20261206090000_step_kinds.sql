-- Storage per call (docs/BENCHMARKS.md, "Storage per finished call"): a step's node, message
-- ids and outcome come from the flow, so the same few combinations repeat in every call (about
-- 35 bytes a step, 14 steps a call). Each combination is kept once, in `step_kinds`; a step
-- row names it by a small integer. `steps` stays what every reader reads: a view with the
-- same columns as the table it replaces. Writes go to `step_rows` (the webhook's writer, the
-- privacy erasure). The rewrite takes a few seconds per million steps, once, at the first
-- start of this version.
CREATE TABLE step_kinds (
    id          INTEGER PRIMARY KEY,
    node        TEXT    NOT NULL,
    message_ids TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    UNIQUE (node, message_ids, outcome)
);
CREATE TABLE step_rows (
    call_id    BIGINT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    turn       BIGINT NOT NULL,
    position   BIGINT NOT NULL,
    kind       BIGINT NOT NULL REFERENCES step_kinds (id),
    text       TEXT   NOT NULL,
    digits     TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (call_id, turn, position)
) WITHOUT ROWID;
INSERT INTO step_kinds (node, message_ids, outcome)
    SELECT DISTINCT node, message_ids, outcome FROM steps ORDER BY 1, 2, 3;
INSERT INTO step_rows (call_id, turn, position, kind, text, digits, created_at)
    SELECT s.call_id, s.turn, s.position, k.id, s.text, s.digits, s.created_at
    FROM steps s JOIN step_kinds k
        ON k.node = s.node AND k.message_ids = s.message_ids AND k.outcome = s.outcome;
DROP TABLE steps;
CREATE VIEW steps AS
    SELECT r.call_id, r.turn, r.position, k.node, k.message_ids, r.text, r.digits, k.outcome,
        r.created_at
    FROM step_rows r JOIN step_kinds k ON k.id = r.kind;
