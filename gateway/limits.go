package gateway

// Limits bound what anybody on the broker can make the room take in or send
// out, so that no command can exhaust the gateway's memory or its link. A
// register is refused by its size before it is parsed, and by its count
// before it is installed.
type Limits struct {
	Persons  int // people in the personnel register
	Carriers int // carriers in the carrier register
	// ResendPerRequester and ResendPerRoom are how many logged events the
	// room re-sends a minute (events/resend) to one requester and to all.
	ResendPerRequester int
	ResendPerRoom      int
}

// CommandBytes bounds every command but the two that carry a register.
const CommandBytes = 16 << 10

// RowBytes is what a register command may spend on one record: a person or
// a carrier is about 100 bytes of CSV, and escaping in JSON at most doubles
// it; the rest is headroom.
const RowBytes = 256

// RegisterBytes bounds a command that carries a register of rows records.
func RegisterBytes(rows int) int { return 64<<10 + rows*RowBytes }

// PacketBytes bounds one MQTT packet the room's broker takes: the largest
// command in its signed envelope, with room for its topic and headers.
func (l Limits) PacketBytes() int {
	return EnvelopeBytes(max(RegisterBytes(l.Persons), RegisterBytes(l.Carriers), CommandBytes)) + 4<<10
}

// MaxRecords is more records than any room's limits allow: the bound for a
// register checked away from the room (the command line's check, the
// console's upload), which the room then checks against its own limits.
const MaxRecords = 1_000_000
