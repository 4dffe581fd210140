package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// BenchmarkLatencyPinToSubscriber measures the whole path of one input
// change — a simulated pin edge, the contact driver, the engine, the SQLite
// commit (WAL, synchronous=FULL: one fsync), the publisher, Mosquitto — to a
// subscriber, next to the bare broker round trip (a paho publisher to a paho
// subscriber through the same Mosquitto, nothing else), sampled alternately
// in the same run. The input's debounce is 0 so the figure is the gateway's
// own latency; a real contact adds its configured debounce (50 ms default).
func BenchmarkLatencyPinToSubscriber(b *testing.B) {
	m, d := benchRoom(b, nil, `clock: {trust: always}
inputs:
  - {id: door-main, kind: door, pin: GPIO17, active: high, debounce: 0s}
`)

	events := make(chan string, 16)
	pr := newProbe(b, m.URL(), d, "roomguard/bench-room/events", func(_ paho.Client, msg paho.Message) {
		var e struct{ Type string }
		json.Unmarshal(msg.Payload(), &e)
		events <- e.Type
	})
	drainTypes(events)

	whole, broker := toggleLatencies(b, pr, events, func(state string) error { return d.sim.Drive("door-main", []byte(state)) },
		[2]string{"open", "closed"}, [2]string{"door.opened", "door.closed"})
	whole.Report(b, "whole")
	broker.Report(b, "bare")
	b.ReportMetric(float64(whole.Quantile(0.99)-broker.Quantile(0.99))/float64(time.Millisecond), "p99-above-bare-ms")
}

// toggleLatencies drives an input to states[0] and states[1] by turns, each
// time timing until the event want[i] reaches the subscriber, next to the
// bare broker round trip sampled before each.
func toggleLatencies(b *testing.B, pr *probe, events chan string, drive func(state string) error, states, want [2]string) (whole, broker testenv.Latencies) {
	i := 0
	for b.Loop() {
		broker = append(broker, pr.roundTrip(b))
		t0 := time.Now()
		if err := drive(states[i%2]); err != nil {
			b.Fatal(err)
		}
		for got := ""; got != want[i%2]; {
			select {
			case got = <-events:
			case <-time.After(5 * time.Second):
				b.Fatalf("no %s within 5 s", want[i%2])
			}
		}
		whole = append(whole, time.Since(t0))
		i++
	}
	return whole, broker
}

// benchRoom starts Mosquitto and a simulated room on it: the room's config
// is rest after its room, storage and mqtt; clock nil is the system's.
func benchRoom(b *testing.B, clock *clocktest.Clock, rest string) (*testenv.Mosquitto, *daemon) {
	m := testenv.StartMosquitto(b)
	cfg, err := config.Parse([]byte(fmt.Sprintf("room: {id: bench-room, name: 基准室}\nstorage: {path: %s/log.db}\nmqtt: {url: %q}\n%s",
		b.TempDir(), m.URL(), rest)), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	o := daemonOpts{Sim: true, LogLevel: slog.LevelError, Stdout: io.Discard, Stderr: os.Stderr}
	if clock != nil {
		o.Clock = clock
	}
	d, err := startDaemon(enroll(cfg), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Stop)
	return m, d
}

func drainTypes(ch chan string) {
	for {
		select {
		case <-ch:
		case <-time.After(200 * time.Millisecond):
			return
		}
	}
}

// BenchmarkAlarmToRetained: an armed room's window opens (a simulated pin
// edge) → the input event and the intrusion alarm committed → the retained
// alarm at a subscriber; next to the bare broker round trip in the same
// run. After the first raise each opening counts on the same open alarm,
// so every sample is a retained alarm with a new count.
func BenchmarkAlarmToRetained(b *testing.B) {
	clock := clocktest.New(time.Now())
	m, d := benchRoom(b, clock, `inputs:
  - {id: window-1, kind: window, pin: GPIO27, active: high, debounce: 0s}
`)
	if err := d.room.Panel.Arm("bench"); err != nil {
		b.Fatal(err)
	}
	clock.Advance(time.Minute)

	counts := make(chan int, 64)
	pr := newProbe(b, m.URL(), d, "roomguard/bench-room/alarms/+", func(_ paho.Client, msg paho.Message) {
		var a struct {
			Count int
			State string
		}
		if json.Unmarshal(msg.Payload(), &a) == nil && a.State == "active" {
			counts <- a.Count
		}
	})

	var whole, broker testenv.Latencies
	n := 0
	for b.Loop() {
		broker = append(broker, pr.roundTrip(b))

		n++
		t0 := time.Now()
		d.sim.Drive("window-1", []byte("open"))
		for got := 0; got != n; {
			select {
			case got = <-counts:
			case <-time.After(5 * time.Second):
				b.Fatalf("no retained alarm with count %d", n)
			}
		}
		whole = append(whole, time.Since(t0))
		d.sim.Drive("window-1", []byte("closed"))
		for deadline := time.Now().Add(5 * time.Second); d.room.Panel.State().Alarms[0].RestoredAt.IsZero(); time.Sleep(50 * time.Microsecond) {
			if time.Now().After(deadline) {
				b.Fatal("window close not seen")
			}
		}
	}
	whole.Report(b, "alarm")
	broker.Report(b, "bare")
}

// probe watches one broker for a benchmark: a subscriber to the room's
// filter, and the bare round trip through the same broker (a publisher to
// the same subscriber, nothing else) to compare with.
type probe struct {
	pub  paho.Client
	bare chan struct{}
}

// newProbe connects, subscribes and waits for the gateway d to be up.
func newProbe(b *testing.B, url string, d *daemon, filter string, handle paho.MessageHandler) *probe {
	pr := &probe{bare: make(chan struct{}, 16)}
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("bench-sub").SetOrderMatters(false))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal("subscriber:", tok.Error())
	}
	b.Cleanup(func() { sub.Disconnect(50) })
	sub.Subscribe(filter, 1, handle).Wait()
	sub.Subscribe("bench/bare", 1, func(paho.Client, paho.Message) { pr.bare <- struct{}{} }).Wait()
	pr.pub = paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("bench-pub"))
	if tok := pr.pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal("publisher:", tok.Error())
	}
	b.Cleanup(func() { pr.pub.Disconnect(50) })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, up, _ := d.session.State(); up {
			return pr
		}
		if time.Now().After(deadline) {
			b.Fatal("gateway never connected")
		}
	}
}

// roundTrip is one bare publish-to-subscriber round trip.
func (pr *probe) roundTrip(b *testing.B) time.Duration {
	t0 := time.Now()
	pr.pub.Publish("bench/bare", 1, false, "x")
	select {
	case <-pr.bare:
	case <-time.After(5 * time.Second):
		b.Fatal("no bare round trip within 5 s")
	}
	return time.Since(t0)
}

// BenchmarkGateToAlarm: a carrier's tag read at the door gate — from the
// moment the simulated R200 writes its notice to the pseudo-terminal —
// through the real driver, the vault, the SQLite commit of the removal and
// the alarm, to the retained critical alarm at a Mosquitto subscriber;
// next to the bare broker round trip. At least 200 samples (about 100 s).
// Between samples the carrier is seen
// back in its safe and the alarm acknowledged, so each sample is a new alarm.
func BenchmarkGateToAlarm(b *testing.B) {
	clock := clocktest.New(time.Now())
	m, d := benchRoom(b, clock, `inputs:
  - {id: door-main, kind: door, pin: GPIO17, active: high, debounce: 0s}
serial:
  - {id: uhf-gate, kind: uhf-r200, path: /dev/ttyUSB2}
carriers:
  antennas:
    - {reader: uhf-gate, antenna: 1, gate: door-main}
`)
	const n = 64
	var cs []gateway.Carrier
	for i := range n {
		cs = append(cs, gateway.Carrier{ID: fmt.Sprintf("JM-%04d", i), EPC: fmt.Sprintf("E28011606000020800%06d", i), Title: "基准载体",
			Class: gateway.Secret, Kind: "document", Home: "safe-a", Custodian: "p-0"})
	}
	if err := d.room.ReplaceRegister(gateway.RegisterChange{Name: "carriers", Version: 1, By: "bench", Carriers: cs}); err != nil {
		b.Fatal(err)
	}

	type raised struct{ id, device string }
	alarms := make(chan raised, 64)
	pr := newProbe(b, m.URL(), d, "roomguard/bench-room/alarms/+", func(_ paho.Client, msg paho.Message) {
		var a struct{ ID, Device, State string }
		if json.Unmarshal(msg.Payload(), &a) == nil && a.State == "active" {
			alarms <- raised{a.ID, a.Device}
		}
	})
	gate := d.sim.UHF("uhf-gate")
	var read atomic.Int64
	gate.OnReading(func() { read.CompareAndSwap(0, time.Now().UnixNano()) })

	var whole, broker testenv.Latencies
	i := 0
	sample := func() {
		broker = append(broker, pr.roundTrip(b))

		c := cs[i%n]
		epc, _ := hex.DecodeString(c.EPC)
		read.Store(0)
		gate.Field(1, epc)
		var a raised
		for a.device != c.ID {
			select {
			case a = <-alarms:
			case <-time.After(5 * time.Second):
				b.Fatalf("no removal alarm for %s", c.ID)
			}
		}
		whole = append(whole, time.Since(time.Unix(0, read.Load())))
		gate.Field(1)
		// The alarm acknowledged and restored (as the carrier back in its
		// safe would); the next read of the carrier is a new passage, past
		// the dedup window.
		clock.Advance(10 * time.Second)
		if err := d.room.Panel.Ack(a.id, "bench", "基准"); err != nil {
			b.Fatal(err)
		}
		if err := d.room.Panel.Restore(gateway.AlarmCarrierRemoval, c.ID); err != nil {
			b.Fatal(err)
		}
		i++
	}
	for b.Loop() {
		sample()
	}
	// A read waits for the reader's next poll (half a second apart), so
	// -benchtime 2s would give four samples: take at least 200 for a p99.
	for len(whole) < 200 {
		sample()
	}
	whole.Report(b, "gate-alarm")
	broker.Report(b, "bare")
}
