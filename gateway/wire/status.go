package wire

// Status is the payload of roomguard/<room>/status.
type Status struct {
	State string `json:"state"`
	Room  string `json:"room"`
	Name  string `json:"name,omitempty"`
	// Location (online): where the room is in its building (its config's
	// room.location), which a console groups the rooms by.
	Location string `json:"location,omitempty"`
	Version  string `json:"version,omitempty"`
	Sim      *bool  `json:"sim,omitempty"`
	Since    string `json:"since,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Key      string `json:"key,omitempty"` // online: the room's public key, for a console to pin
	// KeepAlive (online): the room sends its signed head at least this
	// often, in seconds (Retained.Heartbeat); a console that hears nothing
	// for twice as long raises the room-silent alarm.
	KeepAlive int `json:"keepalive,omitempty"`
	// Names (online): the room's devices' names by id, from its config, so
	// a console names a reader or a board as people do (issue 28).
	Names map[string]string `json:"names,omitempty"`
	// Holidays (online): the room's holiday calendar, so a console knows
	// when an inspection is due before each (issue 31).
	Holidays []StatusHoliday `json:"holidays,omitempty"`
}

// StatusHoliday is one holiday of the calendar: its first and last day.
type StatusHoliday struct {
	Name string `json:"name"`
	From string `json:"from"` // YYYY-MM-DD
	To   string `json:"to"`
}
