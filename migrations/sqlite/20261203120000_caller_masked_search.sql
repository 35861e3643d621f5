-- The dashboard's search by a masked number copied from a list (`+49 151 ••• ••90`): the
-- calls whose stored masked form equals it, newest first, as one index range instead of a
-- scan of every call.
CREATE INDEX calls_by_caller_masked ON calls (caller_masked, started_at DESC, id DESC);
