package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
)

// fakeRoom records what a Board does to the room, one line per call.
type fakeRoom struct {
	mu    sync.Mutex
	calls []string
}

func (r *fakeRoom) add(s string) { r.mu.Lock(); r.calls = append(r.calls, s); r.mu.Unlock() }
func (r *fakeRoom) InputChanged(id string, active bool, _ time.Time) error {
	r.add(fmt.Sprintf("input %s %v", id, active))
	return nil
}
func (r *fakeRoom) Raise(class gateway.AlarmClass, device, detail string) (string, error) {
	r.add(fmt.Sprintf("raise %s %s: %s", class, device, detail))
	return "a1", nil
}
func (r *fakeRoom) Restore(class gateway.AlarmClass, device string) error {
	r.add(fmt.Sprintf("restore %s %s", class, device))
	return nil
}
func (r *fakeRoom) Log(ev gateway.Event) error {
	var data map[string]any
	json.Unmarshal(ev.Data, &data)
	r.add(fmt.Sprintf("event %s %s %s boots=%v", ev.Type, ev.Severity, ev.Device, data["boots"]))
	return nil
}

// take returns the calls since the last take.
func (r *fakeRoom) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *fakeRoom) expect(t *testing.T, what string, want ...string) {
	t.Helper()
	got := r.take()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

var testPoints = Points{
	Board:  "board-1",
	Zones:  map[byte]string{0: "window-north", 1: "ir-archive"},
	Locks:  map[byte]LockPoint{0: {ID: "safe-c-lock", Bolt: "safe-c-bolt", Door: "safe-c-door", Release: 3 * time.Second}},
	Relays: map[byte]string{1: "strobe"},
	Active: map[string]bool{"window-north": true, "ir-archive": false}, // as recorded when the gateway last ran
}

func newTestBoard() (*Board, *fakeRoom) {
	room := &fakeRoom{}
	clock := clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	return NewBoard(testPoints, room, clock, slog.New(slog.NewTextHandler(io.Discard, nil))), room
}

func TestBoardZonesBecomeInputsAndAlarms(t *testing.T) {
	b, room := newTestBoard()
	// The first report of each condition restores it once: an alarm raised
	// before a restart would otherwise stay restored never.
	b.Zone(Zone{Zone: 0, State: ZoneNormal, ADC: 512})
	room.expect(t, "window closed since the last run",
		"input window-north false", "restore tamper window-north", "restore device-fault window-north")
	b.Zone(Zone{Zone: 1, State: ZoneNormal, ADC: 500})
	room.expect(t, "IR normal as recorded: no change",
		"restore tamper ir-archive", "restore device-fault ir-archive")
	b.Zone(Zone{Zone: 0, State: ZoneAlarm, ADC: 682})
	room.expect(t, "alarm", "input window-north true")
	b.Zone(Zone{Zone: 0, State: ZoneTamperCut, ADC: 1023})
	room.expect(t, "cut", "raise tamper window-north: zone 0 line tamper-cut (ADC 1023)")
	b.Zone(Zone{Zone: 0, State: ZoneTamperShort, ADC: 3})
	room.expect(t, "short after cut: raised again with the new detail", "raise tamper window-north: zone 0 line tamper-short (ADC 3)")
	b.Zone(Zone{Zone: 0, State: ZoneFault, ADC: 300})
	room.expect(t, "fault", "restore tamper window-north", "raise device-fault window-north: zone 0 line fault (ADC 300)")
	b.Zone(Zone{Zone: 0, State: ZoneNormal, ADC: 512})
	room.expect(t, "back to normal", "input window-north false", "restore device-fault window-north")
	b.Zone(Zone{Zone: 3, State: ZoneAlarm, ADC: 682})
	room.expect(t, "a zone the room does not use")
}

func TestBoardLocksFeedTheSafe(t *testing.T) {
	b, room := newTestBoard()
	b.Lock(Lock{Lock: 0, State: LockLocked})
	room.expect(t, "locked at first",
		"input safe-c-door false", "input safe-c-bolt false", "restore tamper safe-c-lock", "restore device-fault safe-c-lock")
	b.Lock(Lock{Lock: 0, State: LockUnlocked})
	room.expect(t, "unlocked", "input safe-c-bolt true")
	b.Lock(Lock{Lock: 0, State: LockOpen})
	room.expect(t, "open", "input safe-c-door true")
	b.Lock(Lock{Lock: 0, State: LockLocked})
	room.expect(t, "closed and locked: door first", "input safe-c-door false", "input safe-c-bolt false")
	b.Lock(Lock{Lock: 0, State: LockJammed})
	room.expect(t, "jammed", "raise device-fault safe-c-lock: lock 0: [the bolt did not withdraw when released (jammed)]")
	b.Lock(Lock{Lock: 0, State: LockJammed, BatteryLow: true})
	room.expect(t, "and the battery", "raise device-fault safe-c-lock: lock 0: [the bolt did not withdraw when released (jammed) battery low]")
	b.Lock(Lock{Lock: 0, State: LockTamper, BatteryLow: true})
	room.expect(t, "cover opened: the contacts keep their last state",
		"raise tamper safe-c-lock: lock 0 cover opened", "raise device-fault safe-c-lock: lock 0: [battery low]")
	b.Lock(Lock{Lock: 0, State: LockLocked})
	room.expect(t, "all well", "restore tamper safe-c-lock", "restore device-fault safe-c-lock")
}

func TestBoardHelloResetAndSilence(t *testing.T) {
	b, room := newTestBoard()
	h := Hello{Proto: 1, FWMajor: 1, Zones: 4, Locks: 2, Relays: 2, Reset: ResetPowerOn, Boots: 9}
	b.Hello(h, false)
	room.expect(t, "first hello", "event board.hello info board-1 boots=9")
	b.Hello(h, false)
	room.expect(t, "the board answers SYNC: same boot")
	b.Silent(true)
	room.expect(t, "silent", "raise board-silent board-1: the board has said nothing for the silence limit")
	b.Silent(true)
	room.expect(t, "still silent")
	h.Boots, h.Reset = 10, ResetWatchdog
	b.Hello(h, false) // through a new link: the board tells the reset by its boot count
	room.expect(t, "back after a reset", "restore board-silent board-1", "event board.reset warning board-1 boots=10")
	b.Heartbeat(Heartbeat{UptimeMS: 500, BadCRC: 2})
	room.expect(t, "heartbeat")
	if s := b.Status(); !s.Connected || s.Heartbeat.BadCRC != 2 || s.Hello.Boots != 10 {
		t.Errorf("status %+v", s)
	}
	b.BoardError(BoardError{Code: ErrBusy, RefType: byte(TUnlock), RefSeq: 4})
	room.expect(t, "a refusal", "event board.error warning board-1 boots=<nil>")

	b.Hello(Hello{Proto: 1, Zones: 1, Locks: 0, Relays: 2, Boots: 10}, false)
	room.expect(t, "a board smaller than its config",
		"raise device-fault board-1: the board has 1 zones, 0 locks and 2 relays; the config uses [lock 0 (safe-c-lock) zone 1 (ir-archive)]")
}

func TestBoardReleaseAndRelaysReachTheBoard(t *testing.T) {
	b, room := newTestBoard()
	if err := b.Release(context.Background(), "safe-c-lock"); gateway.ErrorCode(err) != gateway.ECONFLICT {
		t.Errorf("release before the board is connected: %v", err)
	}
	l, fb, _, _ := startLink(t)
	l.handler = b // the board's handler, on the test's link
	hello := make(chan struct{}, 1)
	b.Attach(l, func() { hello <- struct{}{} })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.RunRelays(ctx)
	if err := b.RelayPin(1).Out(gpio.High); err != nil { // before HELLO: carried after it
		t.Fatal(err)
	}
	fb.next() // SYNC
	fb.sendFrame(Hello{Proto: 1, Zones: 4, Locks: 2, Relays: 2, Boots: 1}.Frame(), 1)
	<-hello
	if f := fb.next(); f.Type != TAck {
		t.Fatalf("%v, want the ACK of HELLO", f)
	}
	f := fb.next()
	if f.Type != TRelay || f.Payload[0] != 1 || f.Payload[1] != 1 {
		t.Fatalf("%v, want RELAY 1 on", f)
	}
	fb.sendFrame(AckFrame(f.Seq), 0)

	done := make(chan error, 1)
	go func() { done <- b.Release(context.Background(), "safe-c-lock") }()
	// The relay may be set once more (HELLO sets every relay again): the
	// same level, acknowledged like the first.
	for f = fb.next(); f.Type == TRelay; f = fb.next() {
		if f.Payload[0] != 1 || f.Payload[1] != 1 {
			t.Fatalf("%v, want RELAY 1 on again", f)
		}
		fb.sendFrame(AckFrame(f.Seq), 0)
	}
	if f.Type != TUnlock || f.Payload[0] != 0 || f.Payload[1] != 0x0B || f.Payload[2] != 0xB8 {
		t.Fatalf("%v, want UNLOCK 0 for 3000 ms", f)
	}
	fb.sendFrame(AckFrame(f.Seq), 0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := b.Release(context.Background(), "safe-z"); gateway.ErrorCode(err) != gateway.ENOTFOUND {
		t.Errorf("release of an unknown lock: %v", err)
	}
	room.take()
}
