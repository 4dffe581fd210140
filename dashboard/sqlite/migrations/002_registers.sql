-- The master copies of the registers the rooms are synced from: the
-- personnel register and the carrier register, each a CSV text with a
-- version (every change is a new version, above any a room holds).
CREATE TABLE registers (
	kind       TEXT PRIMARY KEY CHECK (kind IN ('personnel', 'carriers')),
	version    INTEGER NOT NULL,
	csv        TEXT    NOT NULL,
	count      INTEGER NOT NULL,
	sha256     TEXT    NOT NULL,
	updated_ms INTEGER NOT NULL,
	updated_by TEXT    NOT NULL
) STRICT;
