package room_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/devices/gpiosim"
	"github.com/roomguard/roomguard/devices/relay"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/room"
	"github.com/roomguard/roomguard/gateway/sqlite"
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

type engineRig struct {
	engine *room.Engine
	store  *sqlite.Store
	clock  *clocktest.Clock
	sink   *sink
	strike *gpiosim.Pin
}

func newRoom(t *testing.T, path string, doorOpen bool) *engineRig {
	t.Helper()
	clock := clocktest.New(t0)
	store, err := sqlite.Open(path, "jiyao-301", clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	r := &engineRig{store: store, clock: clock, sink: &sink{}, strike: gpiosim.New("GPIO23")}
	r.engine = room.NewEngine("jiyao-301", clock, store, r.sink)
	r.engine.AddInput(gateway.Input{ID: "door-main", Kind: gateway.KindDoor}, doorOpen)
	r.engine.AddInput(gateway.Input{ID: "exit-button", Kind: gateway.KindExitButton, Strike: "strike"}, false)
	drv, err := relay.New(r.strike, &relay.Opts{ActiveLevel: gpio.High, AfterFunc: clock.AfterFunc,
		OnChange: func(on bool, pulse time.Duration) {
			if err := r.engine.OutputChanged("strike", on, pulse); err != nil {
				t.Error(err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	r.engine.AddOutput(gateway.Output{ID: "strike", Kind: gateway.KindDoorStrike, Pulse: 5 * time.Second, Driver: drv})
	return r
}

func (r *engineRig) types(t *testing.T) []string {
	t.Helper()
	evs, err := r.store.Query(gateway.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		b, _ := json.Marshal(e)
		if err := schemas.ValidateJSON("event", b); err != nil {
			t.Errorf("event %d: %v", e.Seq, err)
		}
		s := e.Type
		if strings.Contains(string(e.Data), "at_start") {
			s += "(at start)"
		}
		out = append(out, s)
	}
	return out
}

func TestInputChangeIsLoggedAndPublished(t *testing.T) {
	r := newRoom(t, filepath.Join(t.TempDir(), "log.db"), false)
	if err := r.engine.Start("test", true); err != nil {
		t.Fatal(err)
	}
	if err := r.engine.InputChanged("door-main", true, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	st := r.sink.last("door-main")
	if st.State != "open" || !st.Active || st.Seq != 2 || !st.Since.Equal(t0.Add(time.Second)) {
		t.Fatalf("published state %+v", st)
	}
	b, _ := json.Marshal(st)
	if err := schemas.ValidateJSON("device-state", b); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.types(t), " "); got != "gateway.started door.opened" {
		t.Fatalf("log: %s", got)
	}
	if err := r.engine.InputChanged("nope", true, t0); gateway.ErrorCode(err) != gateway.ENOTFOUND {
		t.Fatalf("unknown input: %v", err)
	}
}

func TestExitButtonPulsesTheStrike(t *testing.T) {
	r := newRoom(t, filepath.Join(t.TempDir(), "log.db"), false)
	r.engine.Start("test", true)
	r.engine.InputChanged("exit-button", true, t0)
	if r.strike.Level() != gpio.High || r.sink.last("strike").State != "on" {
		t.Fatal("strike not released by the exit button")
	}
	r.engine.InputChanged("exit-button", false, t0.Add(200*time.Millisecond))
	r.clock.Advance(4999 * time.Millisecond)
	if r.strike.Level() != gpio.High {
		t.Fatal("strike closed before 5 s")
	}
	r.clock.Advance(time.Millisecond)
	if r.strike.Level() != gpio.Low || r.sink.last("strike").State != "off" {
		t.Fatal("strike still released after 5 s")
	}
	want := "gateway.started exit.pressed output.on exit.released output.off"
	if got := strings.Join(r.types(t), " "); got != want {
		t.Fatalf("log: %s\nwant %s", got, want)
	}
	on, _ := r.store.Query(gateway.EventFilter{Types: []string{"output.on"}})
	if !strings.Contains(string(on[0].Data), `"cause":"exit-button"`) || !strings.Contains(string(on[0].Data), `"pulse_ms":5000`) {
		t.Fatalf("output.on data %s", on[0].Data)
	}
}

// A door opened while the gateway was down is reported at the next start.
func TestChangeWhileDownIsReportedAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	r := newRoom(t, path, false)
	r.engine.Start("test", true)
	r.engine.Stop("shutdown")
	r.store.Close()

	r = newRoom(t, path, true) // the door reads open at the next start
	if err := r.engine.Start("test", true); err != nil {
		t.Fatal(err)
	}
	want := "gateway.started gateway.stopped gateway.started door.opened(at start)"
	if got := strings.Join(r.types(t), " "); got != want {
		t.Fatalf("log: %s\nwant %s", got, want)
	}
	evs, _ := r.store.Query(gateway.EventFilter{Types: []string{"gateway.started"}})
	if !strings.Contains(string(evs[1].Data), `"clean_stop":true`) {
		t.Fatalf("second start data %s", evs[1].Data)
	}
	if st := r.sink.last("door-main"); st.State != "open" || st.Seq != 4 {
		t.Fatalf("door state %+v", st)
	}
	// The exit button did not change: its state keeps the time it was recorded.
	if st := r.sink.last("exit-button"); !st.Since.Equal(t0) || st.State != "released" {
		t.Fatalf("exit button state %+v", st)
	}
}

func TestUntrustedClockIsFlagged(t *testing.T) {
	r := newRoom(t, filepath.Join(t.TempDir(), "log.db"), false)
	r.clock.SetTrusted(false)
	r.engine.Start("test", true)
	evs, _ := r.store.Query(gateway.EventFilter{})
	if evs[0].ClockTrusted {
		t.Fatal("event from an unsynchronised clock not flagged")
	}
}
