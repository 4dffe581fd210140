-- Issue 17: an account acts for a person of the rooms' registers; the
-- commands it gives name that person in by.
ALTER TABLE users ADD COLUMN person TEXT NOT NULL DEFAULT '';
