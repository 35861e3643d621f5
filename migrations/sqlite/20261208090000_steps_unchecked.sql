-- PostgreSQL only (its foreign-key checks on step rows, replaced by triggers for deletions by
-- hand); SQLite checks its foreign keys in-process and keeps them. Kept so both backends have
-- the same migration list.
SELECT 1;
