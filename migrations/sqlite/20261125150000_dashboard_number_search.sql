-- A part of a phone number is searched by walking the newest calls first; with the number
-- in the index the walk reads no table rows until a call matches.
CREATE INDEX calls_by_start_from ON calls (started_at DESC, id DESC, from_number);
