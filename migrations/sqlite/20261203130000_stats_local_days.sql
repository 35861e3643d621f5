-- The statistics count local calendar days of the dashboard's time zone (LIZA_TIMEZONE), no
-- longer UTC days: a day is numbered as its local date (days since 1970-01-01) and its bounds
-- in epoch ms are those of its local midnights, 23 or 25 hours apart across a DST change.
-- The kept sums are a cache; they are dropped and summed again in the new shape.
DROP TABLE stats_days;
DROP TABLE stats_days_done;

-- Calls of a closed local day per (zone, day, language, status, consent); NULL is stored as ''.
CREATE TABLE stats_days (
    zone         TEXT   NOT NULL,
    day          BIGINT NOT NULL,
    language     TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    consent      TEXT   NOT NULL,
    calls        BIGINT NOT NULL,
    duration_sum BIGINT NOT NULL,
    durations    BIGINT NOT NULL,
    PRIMARY KEY (zone, day, language, status, consent)
);
-- Calls of a closed local day per local hour of the day (0-23), for "calls by hour".
CREATE TABLE stats_hours (
    zone  TEXT   NOT NULL,
    day   BIGINT NOT NULL,
    hour  BIGINT NOT NULL,
    calls BIGINT NOT NULL,
    PRIMARY KEY (zone, day, hour)
);
-- Days whose sums are kept, with their bounds: an edit to a call started inside them removes
-- the row, so the day is summed again.
CREATE TABLE stats_days_done (
    zone     TEXT   NOT NULL,
    day      BIGINT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at   BIGINT NOT NULL,
    PRIMARY KEY (zone, day)
);
CREATE INDEX stats_days_done_by_start ON stats_days_done (start_at);
