-- PostgreSQL only (calls fillfactor); SQLite has no such setting. Kept so both backends have
-- the same migration list.
SELECT 1;
