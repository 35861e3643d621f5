-- Voicemails: what Twilio's recording status callback (/webhook/recording) reports of a
-- recording made at a `voicemail` node, kept only for a call whose caller consented. The
-- audio stays at Twilio (its URL needs the account's credentials); a caller's erasure
-- deletes these rows with the call (docs/privacy.md).
CREATE TABLE recordings (
    id            BIGSERIAL PRIMARY KEY,
    call_id       BIGINT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    recording_sid TEXT   NOT NULL UNIQUE,
    url           TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    duration_secs BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX recordings_by_call ON recordings (call_id);
