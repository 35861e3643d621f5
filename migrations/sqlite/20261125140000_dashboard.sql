-- The admin dashboard (SQLite): users, sessions, API tokens, the audit log, failed
-- logins, and indexes for the dashboard's lists and statistics. Times are epoch ms.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

-- Only a SHA-256 of the session cookie is stored, so a leaked table opens no session.
CREATE TABLE sessions (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT    NOT NULL UNIQUE,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

-- Every change made from the dashboard or the API: who, what, old → new, when.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name    TEXT    NOT NULL,
    subject_kind TEXT    NOT NULL,
    subject_id   BIGINT  NOT NULL,
    field        TEXT    NOT NULL,
    old_value    TEXT,
    new_value    TEXT,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX audit_by_subject ON audit_log (subject_kind, subject_id, id DESC);

-- Failed logins, by user name and by client address, for rate limiting.
CREATE TABLE login_failures (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    client       TEXT    NOT NULL,
    attempted_at BIGINT  NOT NULL
);
CREATE INDEX login_failures_by_client ON login_failures (client, attempted_at);

-- Calls of closed days summed once per (day, language, status, consent); NULL is stored as ''.
-- /stats reads these plus the live days, instead of every call of the last weeks.
CREATE TABLE stats_days (
    day          BIGINT NOT NULL,
    language     TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    consent      TEXT   NOT NULL,
    calls        BIGINT NOT NULL,
    duration_sum BIGINT NOT NULL,
    durations    BIGINT NOT NULL,
    PRIMARY KEY (day, language, status, consent)
);
-- Days whose sums are in stats_days; an edit to a call of that day removes its row.
CREATE TABLE stats_days_done (
    day BIGINT PRIMARY KEY
);

CREATE INDEX calls_by_language ON calls (language, started_at DESC, id DESC);
CREATE INDEX calls_by_consent ON calls (consent, started_at DESC, id DESC);
-- Covers the statistics query: one index range scan, no table lookups.
CREATE INDEX calls_for_stats ON calls (started_at, language, status, consent, duration_secs);
CREATE INDEX records_by_created ON records (kind, created_at DESC, id DESC);
CREATE INDEX records_by_status ON records (kind, status, created_at DESC, id DESC);
CREATE INDEX record_calls_by_call ON record_calls (call_id);
CREATE INDEX record_calls_by_time ON record_calls (created_at, record_id);
