-- Accounts (SQLite): API tokens may expire and note when they were last used; sessions get
-- a number, so a user can end one without its token ever being shown; indexes for listing a
-- user's sessions and tokens and for forgetting old login failures.

ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- SQLite cannot add a key column to a table: rebuild it, keeping the sessions.
CREATE TABLE sessions_numbered (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT    NOT NULL UNIQUE,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
INSERT INTO sessions_numbered (token_hash, user_id, csrf_token, created_at, expires_at)
    SELECT token_hash, user_id, csrf_token, created_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_numbered RENAME TO sessions;
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

CREATE INDEX login_failures_by_time ON login_failures (attempted_at);
