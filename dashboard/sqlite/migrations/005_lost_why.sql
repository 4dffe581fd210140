-- Issue 18: a range the gateway no longer has was pruned (older than its
-- retention) or deleted (missing from its log after its oldest event: a
-- tampered log), and the replica says which.
ALTER TABLE lost ADD COLUMN why TEXT NOT NULL DEFAULT 'pruned';
