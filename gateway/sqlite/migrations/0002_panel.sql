-- The alarm panel's state (mode, open alarms, seal in force), saved with
-- every change in the transaction of the change's events.
CREATE TABLE panel (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	state BLOB NOT NULL -- JSON of gateway.PanelState
) STRICT;

-- Seal reports, one per unsealing; kept for inspections.
CREATE TABLE seal_reports (
	seal_id     TEXT PRIMARY KEY,
	unsealed_ms INTEGER NOT NULL,
	verdict     TEXT NOT NULL,
	report      BLOB NOT NULL -- JSON of gateway.SealReport
) STRICT;
