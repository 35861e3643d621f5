-- Privacy: what is kept of a caller before and without their consent, the proof of what they
-- were asked, and the retention purge (docs/privacy.md).
--
-- Until a caller consents (and for good after a refusal or no answer), `from_number` is '' and
-- the caller is known only by a keyed hash (HMAC-SHA256, the key in LIZA_PRIVACY_KEY or in
-- privacy_key) and a masked form for display. Step texts and digits are not stored either.
ALTER TABLE calls ADD COLUMN caller_hash TEXT;
ALTER TABLE calls ADD COLUMN caller_masked TEXT;
-- The consent question as the caller last heard it before answering (Art. 7(1)): when, the
-- Fluent message id, the locale and the rendered text; the flow version is calls.flow_version.
ALTER TABLE calls ADD COLUMN consent_asked_at BIGINT;
ALTER TABLE calls ADD COLUMN consent_message TEXT;
ALTER TABLE calls ADD COLUMN consent_locale TEXT;
ALTER TABLE calls ADD COLUMN consent_text TEXT;
-- When the call's personal data was removed (erased on request, or purged after the
-- retention period); the row stays, anonymous, for the statistics.
ALTER TABLE calls ADD COLUMN purged_at BIGINT;
CREATE INDEX calls_by_caller_hash ON calls (caller_hash);
CREATE INDEX calls_to_purge ON calls (started_at) WHERE purged_at IS NULL;

-- The key's check value (an HMAC of a fixed text), so a server started with another key
-- refuses to start instead of making hashes nobody can find again; the key itself only when
-- Liza generated it (no LIZA_PRIVACY_KEY was set).
CREATE TABLE privacy_key (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    key_check     TEXT   NOT NULL,
    generated_key TEXT,
    created_at    BIGINT NOT NULL
);

-- Every retention purge: when, the retention in force, how many calls it made anonymous.
CREATE TABLE purge_runs (
    id             BIGSERIAL PRIMARY KEY,
    started_at     BIGINT NOT NULL,
    finished_at    BIGINT,
    retention_days BIGINT NOT NULL,
    calls_purged   BIGINT NOT NULL DEFAULT 0
);
