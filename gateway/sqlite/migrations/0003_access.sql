-- Entry control: the gateway's own copy of the personnel register (it
-- decides with the network down), the visits, and who is inside.
CREATE TABLE people (
	id   TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	data BLOB NOT NULL -- JSON of gateway.Person
) STRICT;

CREATE TABLE cards (
	number    TEXT PRIMARY KEY, -- canonical card number: one card, one holder
	person_id TEXT NOT NULL REFERENCES people (id)
) STRICT;

-- The register's version, replaced whole with the people.
CREATE TABLE register (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	version    INTEGER NOT NULL,
	count      INTEGER NOT NULL,
	updated_ms INTEGER NOT NULL,
	updated_by TEXT NOT NULL,
	sha256     TEXT NOT NULL
) STRICT;

-- Visits. The ID number itself is never stored: masked, and a keyed hash.
CREATE TABLE visits (
	id         TEXT PRIMARY KEY,
	card       TEXT NOT NULL,
	open       INTEGER NOT NULL, -- 1 until checked out
	from_ms    INTEGER NOT NULL,
	id_hash    TEXT NOT NULL,
	data       BLOB NOT NULL -- JSON of gateway.Visit
) STRICT;
CREATE UNIQUE INDEX visits_open_card ON visits (card) WHERE open = 1;
CREATE INDEX visits_from ON visits (from_ms);

CREATE TABLE access (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	state BLOB NOT NULL -- JSON of gateway.AccessState
) STRICT;

-- Retention (GB 50396: access records at least 180 days). Events stay
-- append-only, except that Prune may delete published events older than the
-- bound it sets here for the length of its own transaction.
CREATE TABLE prune_gate (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	before_ms INTEGER NOT NULL
) STRICT;
INSERT INTO prune_gate (id, before_ms) VALUES (1, 0);

DROP TRIGGER events_no_delete;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN OLD.ts_ms >= (SELECT before_ms FROM prune_gate WHERE id = 1)
  OR OLD.seq > (SELECT published_seq FROM outbox WHERE id = 1)
BEGIN SELECT RAISE(ABORT, 'events are append-only (only published events past the retention may be pruned)'); END;

CREATE INDEX events_person ON events (person, seq) WHERE person <> '';
