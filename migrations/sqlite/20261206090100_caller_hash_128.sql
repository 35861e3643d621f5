-- Storage per call (docs/BENCHMARKS.md, "Storage per finished call"): a caller's keyed hash is
-- now the first 128 bits of its HMAC-SHA256 (32 hex digits, not 64), in every call's row and
-- in `calls_by_caller_hash`. The hashes kept so far are cut the same way, so a caller is still
-- found by the hash the key makes now.
UPDATE calls SET caller_hash = substr(caller_hash, 1, 32) WHERE length(caller_hash) > 32;
