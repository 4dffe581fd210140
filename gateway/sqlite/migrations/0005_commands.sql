-- Signed commands (issue 17): the nonces seen within the freshness window,
-- and each principal's highest counter, so a command is carried out once
-- even across a restart.
CREATE TABLE command_nonces (
	principal TEXT NOT NULL,
	nonce     TEXT NOT NULL,
	at_ms     INTEGER NOT NULL, -- when it was signed
	PRIMARY KEY (principal, nonce)
) STRICT, WITHOUT ROWID;
CREATE INDEX command_nonces_at ON command_nonces (at_ms);

CREATE TABLE command_counters (
	principal TEXT PRIMARY KEY,
	counter   INTEGER NOT NULL
) STRICT;
