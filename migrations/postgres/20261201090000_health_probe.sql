-- One row that /health rewrites (at most once a second per instance) to prove the database
-- takes a write: reading it would not show a full disk or a file deleted under the server.
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at BIGINT NOT NULL
);
