-- Issue 18: the replica has a retention (roomguard-dashboard serve
-- --retention-days). The append-only trigger still refuses every deletion
-- but the prune's, which marks itself in `pruning` inside its transaction.
CREATE TABLE pruning (before_ms INTEGER NOT NULL) STRICT;
DROP TRIGGER events_no_delete;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN NOT EXISTS (SELECT 1 FROM pruning WHERE old.ts_ms < before_ms)
BEGIN SELECT RAISE(ABORT, 'the replica is append-only'); END;
