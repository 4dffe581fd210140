-- Issue 20: the duty screen and the shift handover.
-- A duty session lasts the shift from when its guard went on duty, however
-- quiet the night (0: an ordinary session).
ALTER TABLE sessions ADD COLUMN duty_ms INTEGER NOT NULL DEFAULT 0;

-- 值班交接: the outgoing guard hands over (notes, the open alarms of the
-- moment); the incoming guard, another account, takes over. Never deleted;
-- once taken over, never changed.
CREATE TABLE handovers (
	n           INTEGER PRIMARY KEY,
	outgoing    TEXT    NOT NULL,
	out_at_ms   INTEGER NOT NULL,
	notes       TEXT    NOT NULL,
	alarms      TEXT    NOT NULL, -- JSON: the open alarms when handed over
	incoming    TEXT    NOT NULL DEFAULT '',
	in_at_ms    INTEGER NOT NULL DEFAULT 0,
	in_notes    TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE TRIGGER handovers_no_delete BEFORE DELETE ON handovers
BEGIN SELECT RAISE(ABORT, 'a handover is a record: never deleted'); END;
CREATE TRIGGER handovers_taken_over BEFORE UPDATE ON handovers
WHEN old.incoming <> ''
BEGIN SELECT RAISE(ABORT, 'a handover taken over is never changed'); END;
