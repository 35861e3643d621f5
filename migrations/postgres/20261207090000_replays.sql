-- A call's replay data is its last answer only: the TwiML of its last turn, the only one
-- Twilio can deliver again (it asks for the next turn only once it has this one's answer).
-- Before, every turn inserted a row into `responses` (keyed by call and turn) and the final
-- status callback deleted them all: five rows a call written, indexed and deleted. Now a call
-- has one row while it is in progress, which each turn replaces and the final status callback
-- deletes (docs/BENCHMARKS.md, "Replay data: the last answer only"). Not a column of `calls`:
-- a call's row would grow by its TwiML during the call and shrink at its end, and SQLite's
-- pages of `calls` were left half empty for good (measured: 1,454 bytes a call against 561).
CREATE TABLE replays (
    call_id BIGINT  PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    turn    BIGINT NOT NULL,
    twiml   TEXT   NOT NULL
);
-- Calls in progress during the upgrade keep their last answer.
INSERT INTO replays (call_id, turn, twiml)
    SELECT r.call_id, r.turn, r.twiml FROM responses r
    JOIN calls c ON c.id = r.call_id AND r.turn = c.turn - 1;
DROP TABLE responses;
