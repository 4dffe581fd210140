package room_test

import (
	"fmt"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/devices/badge"
	"github.com/roomguard/roomguard/devices/em4100"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// BenchmarkBadgeToStrike: the last byte of an EM4100 frame fed to the
// decoder → the decision against a register of 100,000 people (a SQLite
// lookup on the read pool) → the strike's pin driven high. The decision's
// log write follows the strike and is not in the figure.
func BenchmarkBadgeToStrike(b *testing.B) {
	e := newEntry(b, config.DefaultAccess())
	const n = 100_000
	big := make([]gateway.Person, n)
	for i := range big {
		big[i] = gateway.Person{ID: fmt.Sprintf("p-%d", i), Name: fmt.Sprintf("员工%d", i), Cards: []string{em4100.ID(0x3000000000 + i).String()},
			Level: gateway.LevelGeneral, Role: gateway.RoleClerk, Rooms: []string{"*"}, Holidays: true}
	}
	if _, err := e.store.ReplacePeople(big, 2, "bench", e.clock.Now()); err != nil {
		b.Fatal(err)
	}
	var struck time.Time
	e.strike.OnOut(func(l gpio.Level) {
		if l == gpio.High {
			struck = time.Now()
		}
	})
	dec := &em4100.Decoder{Now: e.clock.Now}
	var lat testenv.Latencies
	i := 0
	for b.Loop() {
		b.StopTimer()
		e.clock.Advance(6 * time.Second) // the last grant runs out, the strike locks
		frame := em4100.Frame(em4100.ID(0x3000000000 + (i*7919)%n))
		i++
		dec.Write(frame[:len(frame)-1], nil)
		struck = time.Time{}
		b.StartTimer()
		start := time.Now()
		var granted bool
		dec.Write(frame[len(frame)-1:], func(c badge.Card) {
			d, err := e.access.Badge("reader-out", c.Number, c.At)
			granted = err == nil && d.Granted
		})
		if !granted || struck.IsZero() {
			b.Fatalf("badge %d: not granted, or the strike did not move", i)
		}
		lat = append(lat, struck.Sub(start))
	}
	lat.Report(b, "frame-to-strike")
}
