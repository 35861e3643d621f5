-- The outbox: what goes out after a turn is stored (text messages through Twilio, events to
-- LIZA_EVENTS_URL), written in the turn's own transaction and sent by the sender task.
-- `idempotency_key` is unique per (call, node, turn) for a text and per (call, event) for an
-- event, so a webhook Twilio delivers twice queues nothing new. `payload` holds what is sent
-- (a text's number and body) only until it is sent or has failed; `label` says what it is
-- without personal data (the message id, the event's type).
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    call_id         BIGINT  REFERENCES calls (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('sms', 'event')),
    label           TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    last_error      TEXT,
    sent_at         BIGINT,
    created_at      BIGINT  NOT NULL
);
-- The sender's poll: due rows only (sent and failed rows leave the index).
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
-- The call page, and a caller's erasure.
CREATE INDEX outbox_by_call ON outbox (call_id);
