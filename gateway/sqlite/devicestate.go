package sqlite

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

func (s *Store) saveState(tx *sql.Tx, st gateway.DeviceState, seq uint64) error {
	active := 0
	if st.Active {
		active = 1
	}
	_, err := s.exec(tx, saveStateSQL,
		st.Device, st.Kind, st.State, active, st.Since.UnixMilli(), seq)
	if err != nil {
		return fmt.Errorf("sqlite: save state of %s: %w", st.Device, err)
	}
	return nil
}

// DeviceStates returns the last recorded state of every device, by id.
func (s *Reader) DeviceStates() (map[string]gateway.DeviceState, error) {
	rows, err := s.r.Query(`SELECT device, kind, state, active, since_ms, seq FROM device_states`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read device states: %w", err)
	}
	defer rows.Close()
	m := map[string]gateway.DeviceState{}
	for rows.Next() {
		var st gateway.DeviceState
		var active int
		var since int64
		if err := rows.Scan(&st.Device, &st.Kind, &st.State, &active, &since, &st.Seq); err != nil {
			return nil, fmt.Errorf("sqlite: read device states: %w", err)
		}
		st.Active = active == 1
		st.Since = time.UnixMilli(since)
		m[st.Device] = st
	}
	return m, rows.Err()
}
