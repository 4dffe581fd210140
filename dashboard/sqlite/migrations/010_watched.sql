-- Issue 27: a console shows only the rooms an admin added; traffic for any
-- other room id is counted, never shown. fingerprint, when given, pins the
-- room's key at first contact if its fingerprint matches. The rooms a
-- console already showed stay.
CREATE TABLE watched (
	room        TEXT PRIMARY KEY,
	fingerprint TEXT    NOT NULL DEFAULT '',
	added_by    TEXT    NOT NULL,
	added_ms    INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO watched (room, added_by, added_ms) SELECT room, '(shown before rooms were added)', first_seen_ms FROM rooms;
INSERT OR IGNORE INTO watched (room, added_by, added_ms) SELECT room, '(shown before rooms were added)', seen_ms FROM room_keys;
