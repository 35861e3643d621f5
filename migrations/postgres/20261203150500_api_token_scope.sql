-- What an API token may do: `dashboard` (the dashboard's JSON API, as every token before) or
-- `records` (only the records API the shop's system writes through).
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'dashboard';
