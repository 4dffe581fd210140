-- Issue 18: the console believes a room only under its key, pinned by an
-- admin. seen is the key the room's status last offered; pinned the one an
-- admin confirmed (what is verified against).
CREATE TABLE room_keys (
	room      TEXT PRIMARY KEY,
	seen      TEXT    NOT NULL DEFAULT '',
	seen_ms   INTEGER NOT NULL DEFAULT 0,
	pinned    TEXT    NOT NULL DEFAULT '',
	pinned_by TEXT    NOT NULL DEFAULT '',
	pinned_ms INTEGER NOT NULL DEFAULT 0
) STRICT;

-- What a pinned room did not say: kept as evidence, never shown as the
-- room's.
CREATE TABLE quarantine (
	n           INTEGER PRIMARY KEY,
	room        TEXT    NOT NULL,
	topic       TEXT    NOT NULL, -- after roomguard/<room>/
	seq         INTEGER NOT NULL DEFAULT 0,
	reason      TEXT    NOT NULL,
	payload     BLOB    NOT NULL,
	received_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX quarantine_room ON quarantine (room, n);

-- How far the room's signed chain vouches for the replica, and since when.
ALTER TABLE rooms ADD COLUMN verified_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN verified_ms INTEGER NOT NULL DEFAULT 0;
