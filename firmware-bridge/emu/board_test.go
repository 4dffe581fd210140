package emu_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tarm/serial"

	bridge "github.com/roomguard/roomguard/firmware-bridge"
	"github.com/roomguard/roomguard/firmware-bridge/emu"
	"github.com/roomguard/roomguard/gateway/sysclock"
)

// heard records what the gateway's side of the link was told.
type heard struct {
	mu         sync.Mutex
	hellos     []bridge.Hello
	resets     int
	zones      map[byte][]bridge.ZoneState
	locks      map[byte][]bridge.LockState
	heartbeats []bridge.Heartbeat
	errors     []bridge.BoardError
	silent     []bool
	changed    chan struct{}
}

func newHeard() *heard {
	return &heard{zones: map[byte][]bridge.ZoneState{}, locks: map[byte][]bridge.LockState{}, changed: make(chan struct{}, 1)}
}

func (h *heard) note(f func()) {
	h.mu.Lock()
	f()
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

func (h *heard) Hello(m bridge.Hello, reset bool) {
	h.note(func() {
		h.hellos = append(h.hellos, m)
		if reset {
			h.resets++
		}
	})
}
func (h *heard) Zone(z bridge.Zone) {
	h.note(func() { h.zones[z.Zone] = append(h.zones[z.Zone], z.State) })
}
func (h *heard) Lock(l bridge.Lock) {
	h.note(func() { h.locks[l.Lock] = append(h.locks[l.Lock], l.State) })
}
func (h *heard) Heartbeat(b bridge.Heartbeat) {
	h.note(func() { h.heartbeats = append(h.heartbeats, b) })
}
func (h *heard) BoardError(e bridge.BoardError) { h.note(func() { h.errors = append(h.errors, e) }) }
func (h *heard) Silent(s bool)                  { h.note(func() { h.silent = append(h.silent, s) }) }

// until waits for cond (it is not a timing: the emulator runs in real time
// on a shared machine, so the patience is generous).
func (h *heard) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		ok := cond()
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-h.changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			h.mu.Lock()
			defer h.mu.Unlock()
			var hb bridge.Heartbeat
			if len(h.heartbeats) > 0 {
				hb = h.heartbeats[len(h.heartbeats)-1]
			}
			t.Fatalf("never: %s (zones %v, locks %v, hellos %d, heartbeats %d, last %+v, errors %v)", what, h.zones, h.locks, len(h.hellos), len(h.heartbeats), hb, h.errors)
		}
	}
}

func last[T comparable](s []T, v T) bool { return len(s) > 0 && s[len(s)-1] == v }

var built struct {
	once     sync.Once
	elf, sim string
	err      error
}

func board(t *testing.T) *emu.Board {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "roomguard-firmware-")
		if err != nil {
			built.err = err
			return
		}
		built.elf, built.sim, built.err = emu.Build(dir)
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	b, err := emu.Start(built.elf, built.sim, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// The real firmware in simavr, its UART on a pseudo-terminal opened with
// tarm/serial, the gateway's link on it: a zone goes normal → alarm →
// tamper-cut → tamper-short at the emulated ADC; heartbeats come; an
// unlock reaches the lock's output pin for its duration, and a bolt that
// never moves makes the lock jammed; a reset is told as one.
func TestFirmwareInTheEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the emulator")
	}
	b, _, link, h, ctx := linked(t)
	t.Logf("emulated %s, UART %s", b.Clock, b.PTY)

	h.until(t, "hello and every zone and lock normal", func() bool {
		if len(h.hellos) == 0 || len(h.zones) < 4 || len(h.locks) < 2 {
			return false
		}
		for z := range byte(4) {
			if !last(h.zones[z], bridge.ZoneNormal) {
				return false
			}
		}
		return last(h.locks[0], bridge.LockLocked) && last(h.locks[1], bridge.LockLocked)
	})
	if hl := h.hellos[0]; hl.Proto != 1 || hl.Zones != 4 || hl.Locks != 2 || hl.Reset&bridge.ResetPowerOn == 0 {
		t.Fatalf("hello %+v", hl)
	}

	for _, step := range []struct {
		mv   int
		want bridge.ZoneState
	}{{3333, bridge.ZoneAlarm}, {5000, bridge.ZoneTamperCut}, {0, bridge.ZoneTamperShort}, {3100 + 500, bridge.ZoneAlarm}, {4300, bridge.ZoneFault}, {2500, bridge.ZoneNormal}} {
		b.ADC(1, step.mv)
		h.until(t, "zone 1 "+step.want.String(), func() bool { return last(h.zones[1], step.want) })
	}

	// an unlock drives lock 0's release (PB0) for its duration; the bolt
	// withdraws (PD2 high) and the lock says unlocked
	if err := link.Unlock(ctx, 0, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	on := wait(t, b, 0, true)
	b.Pin('D', 2, true)
	off := wait(t, b, 0, false)
	if d := off.At - on.At; d < 490*time.Millisecond || d > 600*time.Millisecond {
		t.Errorf("the release lasted %v of the emulator's clock, want 500 ms", d)
	}
	h.until(t, "lock 0 unlocked", func() bool { return last(h.locks[0], bridge.LockUnlocked) })
	b.Pin('D', 2, false)
	h.until(t, "lock 0 locked again", func() bool { return last(h.locks[0], bridge.LockLocked) })
	// lock 1's bolt never moves: jammed
	link.Unlock(ctx, 1, 200*time.Millisecond)
	h.until(t, "lock 1 jammed", func() bool { return last(h.locks[1], bridge.LockJammed) })
	// a lock that does not exist: the board refuses it
	link.Unlock(ctx, 7, 200*time.Millisecond)
	h.until(t, "an error for lock 7", func() bool { return len(h.errors) == 1 && h.errors[0].Code == bridge.ErrNoSuch })

	h.until(t, "heartbeats", func() bool { return len(h.heartbeats) >= 4 })
	hb := h.heartbeats[len(h.heartbeats)-1]
	if hb.BadCRC != 0 || hb.BadFrame != 0 {
		t.Errorf("the board refused frames of a clean line: %+v", hb)
	}

	b.Reset()
	h.until(t, "a reset told", func() bool { return h.resets == 1 })
	if hl := h.hellos[len(h.hellos)-1]; hl.Reset&bridge.ResetExternal == 0 || hl.Boots != h.hellos[0].Boots+1 {
		t.Errorf("hello after the reset %+v (first %+v)", hl, h.hellos[0])
	}
	if c := link.Counters(); c.BadCRC != 0 || c.BadFrame != 0 {
		t.Errorf("the link refused frames of a clean line: %+v", c)
	}
	for _, s := range h.silent {
		if s {
			t.Errorf("the board was taken as silent")
		}
	}

	// A power cycle: the locks wait for their first debounced reading, so
	// a booting board never reports a closed cover as opened (issue 16).
	b.Power(false)
	time.Sleep(100 * time.Millisecond) // the emulator's own clock stops; nothing here is timed
	b.Power(true)
	h.until(t, "a second reset told", func() bool { return h.resets == 2 })
	h.until(t, "both locks reported after the power cycle", func() bool {
		return len(h.locks[0]) > 0 && len(h.locks[1]) > 0 && !last(h.locks[0], bridge.LockTamper) && !last(h.locks[1], bridge.LockTamper)
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	for n, states := range h.locks {
		for _, s := range states {
			if s == bridge.LockTamper {
				t.Errorf("lock %d reported %s with its cover closed (states %v)", n, s, states)
			}
		}
	}
}

// linked starts an emulated board and the gateway's link on its UART,
// through tarm/serial as the gateway opens it.
func linked(t *testing.T) (*emu.Board, *serial.Port, *bridge.Link, *heard, context.Context) {
	t.Helper()
	b := board(t)
	port, err := serial.OpenPort(&serial.Config{Name: b.PTY, Baud: 57600, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	h := newHeard()
	link := bridge.NewLink(port, sysclock.New(sysclock.TrustAlways), h)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go link.Run(ctx)
	return b, port, link, h, ctx
}

func wait(t *testing.T, b *emu.Board, bit int, level bool) emu.Output {
	t.Helper()
	for {
		select {
		case o := <-b.Outputs():
			if o.Port == 'B' && o.Bit == bit && o.Level == level {
				return o
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("PB%d never went %v", bit, level)
		}
	}
}

// The firmware's side of bad input: corrupted, truncated, noisy, replayed
// and stray frames on its UART are refused and counted (its heartbeat
// tells the counts), and the board goes on working.
func TestFirmwareRefusesBadFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the emulator")
	}
	b, port, link, h, ctx := linked(t)
	h.until(t, "hello", func() bool { return len(h.hellos) > 0 && len(h.locks) == 2 })

	// relay 0 on, through the link: seq 1
	if err := link.Relay(ctx, 0, true); err != nil {
		t.Fatal(err)
	}
	wait(t, b, 4, true)
	relay := bridge.RelayFrame(0, false)
	relay.Seq = 1
	good := relay.Encode()
	corrupt := append([]byte(nil), good...)
	flip := byte(0x01) // a bit of the CRC's last byte (never making it 0x00, which would end the frame)
	if corrupt[len(corrupt)-2] == 0x01 {
		flip = 0x02
	}
	corrupt[len(corrupt)-2] ^= flip
	stray := relay
	stray.Seq = 9
	for _, raw := range [][]byte{
		corrupt,                          // bad CRC
		append(good[:4:4], 0),            // truncated
		{0x42, 0x13, 0x00},               // noise
		append(make([]byte, 70), 0)[10:], // line idle: empty runs only
		good,                             // a replay of seq 1: acknowledged again, not carried out
		stray.Encode(),                   // a stray seq: dropped
	} {
		if _, err := port.Write(raw); err != nil {
			t.Fatal(err)
		}
	}
	h.until(t, "the board's counts in its heartbeat", func() bool {
		if len(h.heartbeats) == 0 {
			return false
		}
		hb := h.heartbeats[len(h.heartbeats)-1]
		return hb.BadCRC >= 1 && hb.BadFrame >= 2 && hb.Dup >= 2
	})
	// relay 0 is still on: the replayed "off" was not carried out
	select {
	case o := <-b.Outputs():
		if o.Bit == 4 {
			t.Fatalf("a replayed frame switched relay 0: %+v", o)
		}
	case <-time.After(300 * time.Millisecond):
	}
	// and the board works on
	b.ADC(2, 3300)
	h.until(t, "zone 2 alarm after the bad frames", func() bool { return last(h.zones[2], bridge.ZoneAlarm) })
	if err := link.Relay(ctx, 0, false); err != nil {
		t.Fatal(err)
	}
	wait(t, b, 4, false)
}
