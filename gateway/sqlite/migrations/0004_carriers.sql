-- Secret carriers: the gateway's copy of the carrier register, each
-- carrier's state, the sign-outs and the inventory reports.

-- Registers (personnel, carriers) are replaced whole, with a version.
CREATE TABLE registers (
	name       TEXT PRIMARY KEY, -- personnel, carriers
	version    INTEGER NOT NULL,
	count      INTEGER NOT NULL,
	updated_ms INTEGER NOT NULL,
	updated_by TEXT NOT NULL,
	sha256     TEXT NOT NULL
) STRICT;
INSERT INTO registers (name, version, count, updated_ms, updated_by, sha256)
	SELECT 'personnel', version, count, updated_ms, updated_by, sha256 FROM register;
DROP TABLE register;

CREATE TABLE carriers (
	id   TEXT PRIMARY KEY,
	epc  TEXT NOT NULL UNIQUE, -- one tag, one carrier
	data BLOB NOT NULL         -- JSON of gateway.Carrier
) STRICT;

CREATE TABLE carrier_states (
	id   TEXT PRIMARY KEY,
	data BLOB NOT NULL -- JSON of gateway.CarrierState
) STRICT;

CREATE TABLE sign_outs (
	id      TEXT PRIMARY KEY,
	carrier TEXT NOT NULL,
	open    INTEGER NOT NULL, -- 1 until returned
	at_ms   INTEGER NOT NULL,
	data    BLOB NOT NULL     -- JSON of gateway.SignOut
) STRICT;
CREATE UNIQUE INDEX sign_outs_open ON sign_outs (carrier) WHERE open = 1;
CREATE INDEX sign_outs_at ON sign_outs (at_ms);

CREATE TABLE inventories (
	id    TEXT PRIMARY KEY,
	at_ms INTEGER NOT NULL,
	data  BLOB NOT NULL -- JSON of gateway.InventoryReport
) STRICT;
CREATE INDEX inventories_at ON inventories (at_ms);
