-- The replica: every event every room logged, as the room published it.
-- (room, seq) is the identity; n is the replica's arrival order.
CREATE TABLE rooms (
	room          TEXT PRIMARY KEY,
	name          TEXT    NOT NULL DEFAULT '',
	through       INTEGER NOT NULL DEFAULT 0, -- every seq <= through is held or known lost
	high          INTEGER NOT NULL DEFAULT 0,
	events        INTEGER NOT NULL DEFAULT 0,
	lost          INTEGER NOT NULL DEFAULT 0,
	conflicts     INTEGER NOT NULL DEFAULT 0,
	first_seen_ms INTEGER NOT NULL,
	last_event_ms INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE events (
	n        INTEGER PRIMARY KEY,
	room     TEXT    NOT NULL,
	seq      INTEGER NOT NULL,
	id       TEXT    NOT NULL,
	ts_ms    INTEGER NOT NULL,
	type     TEXT    NOT NULL,
	severity TEXT    NOT NULL,
	device   TEXT    NOT NULL DEFAULT '',
	person   TEXT    NOT NULL DEFAULT '',
	payload  BLOB    NOT NULL,
	UNIQUE (room, seq)
) STRICT;
CREATE INDEX events_room_ts ON events (room, ts_ms);
CREATE INDEX events_type_ts ON events (type, ts_ms);
CREATE INDEX events_ts ON events (ts_ms);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the replica is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the replica is append-only'); END;

-- Seqs a gateway had already pruned when the replica asked for them.
CREATE TABLE lost (
	room       TEXT    NOT NULL,
	from_seq   INTEGER NOT NULL,
	to_seq     INTEGER NOT NULL,
	noticed_ms INTEGER NOT NULL,
	PRIMARY KEY (room, from_seq)
) STRICT;

-- The entry log, one row per access event, for the filtered queries.
CREATE TABLE entries (
	room        TEXT    NOT NULL,
	seq         INTEGER NOT NULL,
	ts_ms       INTEGER NOT NULL,
	result      TEXT    NOT NULL,
	person      TEXT    NOT NULL,
	person_name TEXT    NOT NULL,
	visitor     INTEGER NOT NULL,
	card        TEXT    NOT NULL, -- masked
	card_tail   TEXT    NOT NULL, -- its last four digits, for the card filter
	reader      TEXT    NOT NULL,
	door        TEXT    NOT NULL,
	direction   TEXT    NOT NULL,
	reason      TEXT    NOT NULL,
	PRIMARY KEY (room, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX entries_ts ON entries (ts_ms, room, seq);
CREATE INDEX entries_person ON entries (person, ts_ms);
CREATE INDEX entries_name ON entries (person_name, ts_ms);
CREATE INDEX entries_card ON entries (card_tail, ts_ms);
CREATE INDEX entries_result ON entries (result, ts_ms);

-- The last retained message of every room state topic.
CREATE TABLE retained (
	room       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	key        TEXT NOT NULL,
	payload    BLOB NOT NULL,
	updated_ms INTEGER NOT NULL,
	PRIMARY KEY (room, kind, key)
) STRICT;

-- Accounts of the console.
CREATE TABLE users (
	name         TEXT PRIMARY KEY,
	display      TEXT    NOT NULL,
	role         TEXT    NOT NULL,
	hash         TEXT    NOT NULL,
	created_ms   INTEGER NOT NULL,
	created_by   TEXT    NOT NULL,
	failed       INTEGER NOT NULL DEFAULT 0,
	locked_until INTEGER NOT NULL DEFAULT 0,
	disabled     INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY, -- sha256 of the cookie token
	user         TEXT    NOT NULL REFERENCES users (name),
	csrf         TEXT    NOT NULL,
	created_ms   INTEGER NOT NULL,
	last_seen_ms INTEGER NOT NULL
) STRICT;

-- Every operator action, append-only.
CREATE TABLE audit (
	n      INTEGER PRIMARY KEY,
	at_ms  INTEGER NOT NULL,
	user   TEXT    NOT NULL,
	action TEXT    NOT NULL,
	room   TEXT    NOT NULL,
	target TEXT    NOT NULL,
	detail TEXT    NOT NULL,
	result TEXT    NOT NULL,
	remote TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_at ON audit (at_ms);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
