-- Every turn updates its call row. Room on each page lets PostgreSQL keep the new row version
-- on the same page without touching the calls table's indexes (a HOT update).
ALTER TABLE calls SET (fillfactor = 70);
