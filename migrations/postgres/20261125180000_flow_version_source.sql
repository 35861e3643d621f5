-- A flow version's flow file and locale files (JSON), so any instance can serve a call
-- pinned to a version it never loaded itself.
ALTER TABLE flow_versions ADD COLUMN source TEXT;
