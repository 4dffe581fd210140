-- Issue 27: wrong passwords lock an account at the address they came from,
-- not everywhere. Each address's count and lock (JSON, by address) are kept
-- with the account, so they change in one step with a login's own; the
-- latest lock and its address are what the admin sees.
ALTER TABLE users ADD COLUMN locked_from TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN lockouts TEXT NOT NULL DEFAULT '';
