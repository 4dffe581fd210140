package room_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/schemas"
)

var t0 = time.Date(2026, 11, 22, 8, 30, 0, 0, time.FixedZone("CST", 8*3600))

type sink struct {
	mu     sync.Mutex
	states []gateway.DeviceState
}

func (s *sink) DeviceState(st gateway.DeviceState) {
	s.mu.Lock()
	s.states = append(s.states, st)
	s.mu.Unlock()
}

func (s *sink) last(id string) gateway.DeviceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.states) - 1; i >= 0; i-- {
		if s.states[i].Device == id {
			return s.states[i]
		}
	}
	return gateway.DeviceState{}
}

// types lists the types of every logged event, each checked against the
// event schema; "(at start)" marks a change found at a start.
func (g *guarded) types() []string {
	g.t.Helper()
	var out []string
	for _, e := range g.logged(0) {
		s := e.Type
		if strings.Contains(string(e.Data), "at_start") {
			s += "(at start)"
		}
		out = append(out, s)
	}
	return out
}

func TestInputChangeIsLoggedAndPublished(t *testing.T) {
	g := newGuarded(t)
	if err := g.engine.InputChanged("door-main", true, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	st := g.states.last("door-main")
	if st.State != "open" || !st.Active || st.Seq != 2 || !st.Since.Equal(t0.Add(time.Second)) {
		t.Fatalf("published state %+v", st)
	}
	b, _ := json.Marshal(st)
	if err := schemas.ValidateJSON("device-state", b); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(g.types(), " "); got != "gateway.started door.opened" {
		t.Fatalf("log: %s", got)
	}
	if err := g.engine.InputChanged("nope", true, t0); gateway.ErrorCode(err) != gateway.ENOTFOUND {
		t.Fatalf("unknown input: %v", err)
	}
}

func TestExitButtonPulsesTheStrike(t *testing.T) {
	g := newGuarded(t)
	g.set("exit-button", true)
	if g.strike.Level() != gpio.High || g.states.last("strike").State != "on" {
		t.Fatal("strike not released by the exit button")
	}
	g.clock.Advance(200 * time.Millisecond)
	g.set("exit-button", false)
	g.clock.Advance(4799 * time.Millisecond)
	if g.strike.Level() != gpio.High {
		t.Fatal("strike closed before 5 s")
	}
	g.clock.Advance(time.Millisecond)
	if g.strike.Level() != gpio.Low || g.states.last("strike").State != "off" {
		t.Fatal("strike still released after 5 s")
	}
	want := "gateway.started exit.pressed output.on exit.released output.off"
	if got := strings.Join(g.types(), " "); got != want {
		t.Fatalf("log: %s\nwant %s", got, want)
	}
	on, _ := g.store.Query(gateway.EventFilter{Types: []string{"output.on"}})
	if !strings.Contains(string(on[0].Data), `"cause":"exit-button"`) || !strings.Contains(string(on[0].Data), `"pulse_ms":5000`) {
		t.Fatalf("output.on data %s", on[0].Data)
	}
}

// A door opened while the gateway was down is reported at the next start.
func TestChangeWhileDownIsReportedAtStart(t *testing.T) {
	g := newGuarded(t)
	if err := g.room.Stop("shutdown"); err != nil {
		t.Fatal(err)
	}
	g.crash()
	g.active["door-main"] = true // the door reads open at the next start
	g.open()
	want := "gateway.started gateway.stopped gateway.started door.opened(at start)"
	if got := strings.Join(g.types(), " "); got != want {
		t.Fatalf("log: %s\nwant %s", got, want)
	}
	evs, _ := g.store.Query(gateway.EventFilter{Types: []string{"gateway.started"}})
	if !strings.Contains(string(evs[1].Data), `"clean_stop":true`) {
		t.Fatalf("second start data %s", evs[1].Data)
	}
	if st := g.states.last("door-main"); st.State != "open" || st.Seq != 4 {
		t.Fatalf("door state %+v", st)
	}
	// The exit button did not change: its state keeps the time it was recorded.
	if st := g.states.last("exit-button"); !st.Since.Equal(t0) || st.State != "released" {
		t.Fatalf("exit button state %+v", st)
	}
}

func TestUntrustedClockIsFlagged(t *testing.T) {
	g := newGuarded(t)
	g.crash()
	g.clock.SetTrusted(false)
	g.open()
	evs, _ := g.store.Query(gateway.EventFilter{Types: []string{"gateway.started"}})
	if len(evs) != 2 || !evs[0].ClockTrusted || evs[1].ClockTrusted {
		t.Fatal("an event of an unsynchronised clock is not flagged")
	}
}
