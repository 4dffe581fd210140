-- Issue 31, item 3: the inspections done (定期检查, 节前检查, 突击检查): each
-- recorded and signed by its inspector with the report's period. Never
-- deleted.
CREATE TABLE inspections (
	n            INTEGER PRIMARY KEY,
	room         TEXT    NOT NULL, -- '' : every room
	kind         TEXT    NOT NULL, -- periodic, holiday, unannounced
	at_ms        INTEGER NOT NULL,
	by           TEXT    NOT NULL,
	period_from  TEXT    NOT NULL,
	period_until TEXT    NOT NULL,
	note         TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE TRIGGER inspections_no_delete BEFORE DELETE ON inspections
BEGIN SELECT RAISE(ABORT, 'an inspection is a record: never deleted'); END;
