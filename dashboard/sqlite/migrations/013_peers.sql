-- Issue 33, item 4: two consoles on one broker. Each tells its peers, in
-- order, what its operators did (the journal: audit entries, handovers and
-- takeovers) and takes theirs in; the accounts' primary publishes the
-- accounts, which the other keeps as it says.
CREATE TABLE journal (
	seq   INTEGER PRIMARY KEY,
	at_ms INTEGER NOT NULL,
	kind  TEXT    NOT NULL, -- audit, handover, takeover
	body  TEXT    NOT NULL  -- JSON
) STRICT;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;

-- How far each peer console's journal is taken in.
CREATE TABLE peers (
	console TEXT PRIMARY KEY,
	applied INTEGER NOT NULL
) STRICT;

-- Where an audit entry was made ('' : this console).
ALTER TABLE audit ADD COLUMN console TEXT NOT NULL DEFAULT '';
-- Where a handover was handed over and its number there ('' : this
-- console), and where it was taken over.
ALTER TABLE handovers ADD COLUMN console TEXT NOT NULL DEFAULT '';
ALTER TABLE handovers ADD COLUMN console_n INTEGER NOT NULL DEFAULT 0;
ALTER TABLE handovers ADD COLUMN in_console TEXT NOT NULL DEFAULT '';
-- An account's revision: one more at each change of what the consoles
-- share (not its logins); origin: the console it is kept at ('' : here).
ALTER TABLE users ADD COLUMN rev INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN origin TEXT NOT NULL DEFAULT '';
