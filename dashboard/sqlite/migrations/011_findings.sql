-- Issue 31, item 3: the findings of inspections and their rectification
-- (整改): who owns one, by when, the note of what was done, and its
-- closure by another account. Never deleted.
CREATE TABLE findings (
	n              INTEGER PRIMARY KEY,
	room           TEXT    NOT NULL,
	item           TEXT    NOT NULL, -- the checklist's item
	text           TEXT    NOT NULL,
	owner          TEXT    NOT NULL, -- a person of the register, or an account
	deadline       TEXT    NOT NULL, -- YYYY-MM-DD
	unannounced    INTEGER NOT NULL DEFAULT 0,
	opened_ms      INTEGER NOT NULL,
	opened_by      TEXT    NOT NULL,
	rectified_ms   INTEGER NOT NULL DEFAULT 0,
	rectified_by   TEXT    NOT NULL DEFAULT '',
	note           TEXT    NOT NULL DEFAULT '',
	closed_ms      INTEGER NOT NULL DEFAULT 0,
	closed_by      TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE TRIGGER findings_no_delete BEFORE DELETE ON findings
BEGIN SELECT RAISE(ABORT, 'a finding is a record: never deleted'); END;
