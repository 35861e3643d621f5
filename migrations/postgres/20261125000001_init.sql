-- Liza's schema (PostgreSQL): the same tables, columns, constraints and indexes as
-- migrations/sqlite, so the store's SQL runs unchanged. Times are Unix epoch milliseconds.

CREATE TABLE calls (
    id            BIGSERIAL PRIMARY KEY,
    call_sid      TEXT    NOT NULL UNIQUE,
    from_number   TEXT    NOT NULL,
    to_number     TEXT    NOT NULL,
    language      TEXT,
    status        TEXT    NOT NULL CHECK (status IN ('in_progress', 'processed', 'completed', 'problem')),
    consent       TEXT    CHECK (consent IN ('given', 'refused')),
    consent_at    BIGINT,
    started_at    BIGINT  NOT NULL,
    ended_at      BIGINT,
    duration_secs BIGINT,
    flow_name     TEXT,
    flow_version  TEXT,
    -- The call state machine's state (JSON) and the number of webhook turns answered.
    state         TEXT,
    turn          BIGINT  NOT NULL DEFAULT 0,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX calls_by_start ON calls (started_at DESC, id DESC);
CREATE INDEX calls_by_status ON calls (status, started_at DESC, id DESC);
CREATE INDEX calls_by_from ON calls (from_number);

-- Every node a call passed: what Liza said, what the caller pressed, what happened.
CREATE TABLE steps (
    id          BIGSERIAL PRIMARY KEY,
    call_id     BIGINT  NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    turn        BIGINT  NOT NULL,
    position    BIGINT  NOT NULL,
    node        TEXT    NOT NULL,
    message_ids TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    digits      TEXT,
    outcome     TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    UNIQUE (call_id, turn, position)
);

-- The TwiML answered for each turn, replayed when Twilio delivers a webhook twice.
CREATE TABLE responses (
    call_id    BIGINT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    turn       BIGINT NOT NULL,
    twiml      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (call_id, turn)
);

-- Records a flow saves (Liza's orders are records of kind `order`, keyed by order number).
CREATE TABLE records (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    notes      TEXT   NOT NULL DEFAULT '',
    call_id    BIGINT REFERENCES calls (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (kind, key)
);
CREATE INDEX records_by_update ON records (kind, updated_at DESC, id DESC);

-- Every call that saved or asked for a record.
CREATE TABLE record_calls (
    record_id  BIGINT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    call_id    BIGINT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (record_id, call_id)
);

-- Every flow version (content hash) that served calls.
CREATE TABLE flow_versions (
    version   TEXT   PRIMARY KEY,
    name      TEXT   NOT NULL,
    loaded_at BIGINT NOT NULL
);
