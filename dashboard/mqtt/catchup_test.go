package mqtt_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/mqtt"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/testenv"
	"github.com/roomguard/roomguard/gateway/wire"
)

// building is many rooms' gateways seen from the broker, in one client:
// each room online with logged events 1..per, answering events/resend as
// a gateway does (the events made as asked for). Held, it takes requests
// and answers none until released.
type building struct {
	client paho.Client
	per    uint64

	mu       sync.Mutex
	held     bool
	waiting  []resendCmd
	asked    int // requests taken
	unsolved int // requests taken and not answered yet
	most     int // the most unanswered at once
	work     chan resendCmd
}

type resendCmd struct {
	room          string
	ID, Requester string
	From, To      uint64
}

func newBuilding(tb testing.TB, url string, rooms []string, per uint64) *building {
	tb.Helper()
	bd := &building{per: per, work: make(chan resendCmd, 1024)}
	bd.client = paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("building"))
	if tok := bd.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("building connect: %v", tok.Error())
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	tb.Cleanup(func() { close(done); <-finished; bd.client.Disconnect(100) })
	go func() { // answers out of paho's handler, which must not block
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case c := <-bd.work:
				bd.answer(c)
			}
		}
	}()
	bd.client.Subscribe("roomguard/+/cmd/events/resend", 1, func(_ paho.Client, m paho.Message) {
		var c resendCmd
		if json.Unmarshal(m.Payload(), &c) != nil {
			return
		}
		c.room = strings.Split(m.Topic(), "/")[1]
		bd.mu.Lock()
		bd.asked++
		bd.unsolved++
		bd.most = max(bd.most, bd.unsolved)
		held := bd.held
		if held {
			bd.waiting = append(bd.waiting, c)
		}
		bd.mu.Unlock()
		if !held {
			bd.work <- c
		}
	}).WaitTimeout(10 * time.Second)
	for _, r := range rooms {
		st, _ := json.Marshal(wire.Status{State: "online", Room: r, Name: "机要室 " + r})
		bd.client.Publish(wire.Topics{Room: r}.Status(), 1, true, st)
	}
	return bd
}

func (bd *building) hold(on bool) {
	bd.mu.Lock()
	bd.held = on
	waiting := bd.waiting
	bd.waiting = nil
	bd.mu.Unlock()
	for _, c := range waiting {
		bd.work <- c
	}
}

func (bd *building) answer(c resendCmd) {
	topics := wire.Topics{Room: c.room}
	reply := wire.Reply{ID: c.ID, Cmd: "events/resend", Status: "ok", Result: map[string]any{"from": c.From, "to": min(c.To, bd.per), "count": 0, "oldest": 1}}
	if c.From > bd.per {
		reply.Status, reply.Error = "error", &wire.ReplyError{Code: gateway.ENOTFOUND, Message: fmt.Sprintf("events/resend: the log ends at seq %d", bd.per)}
	} else {
		reply.Result["first"] = c.From
		var tok paho.Token
		for q := c.From; q <= min(c.To, bd.per); q++ {
			p, _ := json.Marshal(gateway.Event{Seq: q, ID: fmt.Sprintf("%s-%d", c.room, q), TS: t0.Add(time.Duration(q) * time.Second),
				ClockTrusted: true, Room: c.room, Type: "door.opened", Severity: gateway.SeverityInfo, Device: "door-main"})
			tok = bd.client.Publish(topics.Resend(c.Requester), 1, false, p)
		}
		tok.WaitTimeout(30 * time.Second)
		reply.Result["count"] = min(c.To, bd.per) - c.From + 1
	}
	p, _ := json.Marshal(reply)
	bd.mu.Lock()
	bd.unsolved-- // answered now (before the console can ask its next)
	bd.mu.Unlock()
	bd.client.Publish(topics.Reply(c.ID), 1, false, p).WaitTimeout(10 * time.Second)
}

func roomIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("room-%03d", i+1)
	}
	return out
}

// Issue 33: a console back to a building asks its rooms for what it missed
// a few at a time, never all at once (no re-send storm): with every room's
// answer held, it has asked at most two of them; released, it gets every
// room's events.
func TestCatchUpAsksAFewRoomsAtATime(t *testing.T) {
	broker := testenv.StartMosquitto(t)
	rooms := roomIDs(20)
	bd := newBuilding(t, broker.URL(), rooms, 300)
	bd.hold(true)
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "dashboard.db"), sysclock.New(sysclock.TrustAlways))
	if err != nil {
		t.Fatal(err)
	}
	watch(t, store, rooms...)
	l, err := mqtt.Connect(mqtt.LinkOpts{Conn: wire.Conn{URL: broker.URL()}, Store: store, Clock: sysclock.New(sysclock.TrustAlways), CatchUp: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); store.Close() })
	waitFor(t, "the first requests", func() bool { bd.mu.Lock(); defer bd.mu.Unlock(); return bd.asked > 0 })
	time.Sleep(time.Second)
	bd.mu.Lock()
	asked := bd.asked
	bd.mu.Unlock()
	const most = 2 // docs/console.md
	if asked > most {
		t.Fatalf("%d rooms asked at once, at most %d", asked, most)
	}
	bd.hold(false)
	waitFor(t, "every room's events", func() bool {
		for _, r := range rooms {
			if rec, _ := store.Room(r); rec.Through != 300 {
				return false
			}
		}
		return true
	})
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if bd.most > most {
		t.Fatalf("%d requests unanswered at once, at most %d", bd.most, most)
	}
}

// BenchmarkCatchUp (issue 33): a console back after a day away catches up
// ROOMGUARD_CATCHUP_ROOMS rooms (default 200) of ROOMGUARD_CATCHUP_EVENTS
// events each (default 5000: a million in all), while a live room raises
// an alarm every 100 ms. Reported: the catch-up's length and rate, the
// requests it took and the most unanswered at once (no storm), and each
// live alarm's way from its publication to the replica (Stored: what the
// duty screens are told) during the catch-up, against the same before it
// began (same run).
func BenchmarkCatchUp(b *testing.B) {
	env := func(name string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
			return v
		}
		return def
	}
	n, per := env("ROOMGUARD_CATCHUP_ROOMS", 200), uint64(env("ROOMGUARD_CATCHUP_EVENTS", 5000))
	for b.Loop() {
		broker := testenv.StartMosquitto(b)
		rooms := roomIDs(n)
		store, err := sqlite.Open(filepath.Join(b.TempDir(), "dashboard.db"), sysclock.New(sysclock.TrustAlways))
		if err != nil {
			b.Fatal(err)
		}
		watch(b, store, append(rooms, "live-room")...)
		var mu sync.Mutex
		sent := map[uint64]time.Time{}
		var lat []time.Duration
		stored := func(recs []dashboard.Record) {
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			for _, r := range recs {
				if at, ok := sent[r.Seq]; ok && r.Room == "live-room" {
					lat = append(lat, now.Sub(at))
					delete(sent, r.Seq)
				}
			}
		}
		l, err := mqtt.Connect(mqtt.LinkOpts{Conn: wire.Conn{URL: broker.URL()}, Store: store, Clock: sysclock.New(sysclock.TrustAlways),
			Stored: stored, CatchUp: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); !l.Connected(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("the console never connected")
			}
		}
		live := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("live-room"))
		if tok := live.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatal(tok.Error())
		}
		var seq atomic.Uint64
		alarm := func() {
			q := seq.Add(1)
			now := time.Now()
			p, _ := json.Marshal(gateway.Event{Seq: q, ID: fmt.Sprintf("live-%d", q), TS: now, ClockTrusted: true, Room: "live-room",
				Type: "alarm.raised", Severity: gateway.SeverityCritical, Device: "ir-1", Data: json.RawMessage(fmt.Sprintf(`{"alarm":"live-%d","class":"intrusion","priority":1}`, q))})
			mu.Lock()
			sent[q] = now
			mu.Unlock()
			live.Publish("roomguard/live-room/events", 1, false, p)
		}
		percentiles := func(d []time.Duration) (p50, p99, top float64) {
			slices.Sort(d)
			ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
			return ms(d[len(d)/2]), ms(d[len(d)*99/100]), ms(d[len(d)-1])
		}
		for range 50 { // before: nothing to catch up
			alarm()
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Second)
		mu.Lock()
		_, quietP99, _ := percentiles(lat)
		lat = nil
		mu.Unlock()

		start := time.Now()
		bd := newBuilding(b, broker.URL(), rooms, per) // the rooms come online: the console asks each for what it lacks
		caughtUp := func() bool {
			for _, r := range rooms {
				if rec, _ := store.Room(r); rec.Through != per {
					return false
				}
			}
			return true
		}
		tick := time.NewTicker(100 * time.Millisecond)
		for deadline := time.Now().Add(20 * time.Minute); !caughtUp(); <-tick.C {
			if time.Now().After(deadline) {
				b.Fatal("the catch-up did not end in 20 minutes")
			}
			alarm()
		}
		tick.Stop()
		took := time.Since(start)
		pending := func() []uint64 {
			mu.Lock()
			defer mu.Unlock()
			return slices.Collect(maps.Keys(sent))
		}
		for deadline := time.Now().Add(10 * time.Second); len(pending()) > 0 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		if p := pending(); len(p) > 0 {
			held, _ := store.Room("live-room")
			b.Fatalf("live alarms %v never reached the replica (it holds the live room through %d, %d events)", p, held.Through, held.Events)
		}
		mu.Lock()
		p50, p99, top := percentiles(lat)
		mu.Unlock()
		bd.mu.Lock()
		b.ReportMetric(took.Seconds(), "catchup-s")
		b.ReportMetric(float64(uint64(n)*per)/took.Seconds(), "events/s")
		b.ReportMetric(float64(bd.asked), "requests")
		b.ReportMetric(float64(bd.most), "most-unanswered")
		bd.mu.Unlock()
		b.ReportMetric(p50, "live-p50-ms")
		b.ReportMetric(p99, "live-p99-ms")
		b.ReportMetric(top, "live-max-ms")
		b.ReportMetric(quietP99, "quiet-live-p99-ms")
		live.Disconnect(100)
		l.Close()
		store.Close()
	}
}
