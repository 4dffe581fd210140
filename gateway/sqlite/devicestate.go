package sqlite

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// AppendWithStates commits events and the device states they lead to in one
// transaction, so the recorded state never disagrees with the log.
func (s *Store) AppendWithStates(events []gateway.Event, states []gateway.DeviceState) ([]gateway.Event, error) {
	j := &job{events: append([]gateway.Event(nil), events...)}
	j.fn = func(tx *sql.Tx) error {
		for _, st := range states {
			seq := st.Seq
			if seq == 0 && len(j.events) > 0 {
				seq = j.events[len(j.events)-1].Seq
			}
			if err := s.saveState(tx, st, seq); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.do(j); err != nil {
		return nil, err
	}
	return j.events, nil
}

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
