-- Issue 17, item 8: a password an admin reset must be changed by its owner
-- at the next login before anything else.
ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
