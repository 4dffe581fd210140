-- The event log. It is append-only and it is the outbox: the publisher sends
-- rows above outbox.published_seq in seq order and advances the cursor only
-- when the broker has confirmed them.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE events (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: a seq is never reused
	id       TEXT    NOT NULL UNIQUE,
	ts_ms    INTEGER NOT NULL,                  -- unix milliseconds, for range queries
	type     TEXT    NOT NULL,
	severity TEXT    NOT NULL,
	device   TEXT    NOT NULL DEFAULT '',
	person   TEXT    NOT NULL DEFAULT '',
	payload  BLOB    NOT NULL                   -- the exact JSON that is published
) STRICT;

CREATE INDEX events_ts ON events (ts_ms);
CREATE INDEX events_type ON events (type, seq);
CREATE INDEX events_device ON events (device, seq) WHERE device <> '';

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE outbox (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	published_seq INTEGER NOT NULL
) STRICT;
INSERT INTO outbox (id, published_seq) VALUES (1, 0);

-- Last known state of every device, so a change that happened while the
-- gateway was down is noticed at the next start.
CREATE TABLE device_states (
	device   TEXT PRIMARY KEY,
	kind     TEXT NOT NULL,
	state    TEXT NOT NULL,
	active   INTEGER NOT NULL,
	since_ms INTEGER NOT NULL,
	seq      INTEGER NOT NULL
) STRICT;
