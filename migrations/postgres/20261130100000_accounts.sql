-- Accounts (PostgreSQL): API tokens may expire and note when they were last used; sessions
-- get a number, so a user can end one without its token ever being shown; indexes for
-- listing a user's sessions and tokens and for forgetting old login failures.

ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT, ADD COLUMN last_used_at BIGINT;
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- Existing sessions are numbered as the column is added.
ALTER TABLE sessions ADD COLUMN id BIGSERIAL;
ALTER TABLE sessions ADD CONSTRAINT sessions_id_key UNIQUE (id);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

CREATE INDEX login_failures_by_time ON login_failures (attempted_at);
