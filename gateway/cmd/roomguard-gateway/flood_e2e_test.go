package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// floodRoom is a real gateway on a real Mosquitto with the shipped ACL, as
// an office runs it: the room's account (the room id), a console's account
// (console-1, which may publish on every room's cmd/#), and a test account
// that drives the simulated inputs and reads everything.
type floodRoom struct {
	t      testing.TB
	room   string
	db     string
	m      *testenv.Mosquitto
	gw     *testenv.Process
	driver paho.Client

	mu      sync.Mutex
	events  map[string]time.Time // type/device → when it arrived last
	seqs    map[uint64]bool
	alarms  map[string][]byte // alarms/<id> → its retained state
	replies atomic.Int64
}

func startFloodRoom(t testing.TB) *floodRoom {
	t.Helper()
	f := &floodRoom{t: t, room: "jiyao-301", // a gateway account of the shipped ACL
		events: map[string]time.Time{}, seqs: map[uint64]bool{}, alarms: map[string][]byte{}}
	shipped, err := os.ReadFile("../../../examples/mosquitto/roomguard.acl")
	if err != nil {
		t.Fatal(err)
	}
	// The shipped ACL, and for the test only: the gateway reads its
	// simulated inputs, the driver writes them and reads everything.
	acl := filepath.Join(t.TempDir(), "test.acl")
	os.WriteFile(acl, append([]byte("pattern read roomguard/%u/sim/#\n"), append(shipped,
		"\nuser driver\ntopic write roomguard/+/sim/#\ntopic read roomguard/#\n"...)...), 0o600)
	f.m = testenv.StartMosquittoACL(t, acl, f.room, "console-1", "driver")
	dir := t.TempDir()
	f.db = filepath.Join(dir, "log.db")
	pw := filepath.Join(dir, "mqtt.password")
	os.WriteFile(pw, []byte(testenv.AccountPassword(f.room)), 0o600)
	cfg := filepath.Join(dir, "room.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `room: {id: %s, name: 测试室}
storage: {path: %s}
clock: {trust: always}
mqtt: {url: "%s", username: %s, password_file: %s, keepalive: 5s}
gpio: {poll: 20ms}
inputs:
  - {id: door-main, kind: door,   pin: GPIO17, active: high, debounce: 0s}
  - {id: window-1,  kind: window, pin: GPIO27, active: high, debounce: 0s}
`, f.room, f.db, f.m.URL(), f.room, pw), 0o600)
	f.driver = f.m.ConnectAs(t, "driver")
	f.driver.Subscribe("roomguard/"+f.room+"/#", 1, f.heard).Wait()
	f.gw = testenv.StartGateway(t, "run", "--sim", "--config", cfg)
	f.wait("the room online", 30*time.Second, func() bool { return f.arrived("gateway.started/") })
	return f
}

func (f *floodRoom) heard(_ paho.Client, m paho.Message) {
	parts := strings.Split(m.Topic(), "/")
	now := time.Now()
	switch {
	case len(parts) == 3 && parts[2] == "events":
		var e gateway.Event
		if json.Unmarshal(m.Payload(), &e) != nil {
			return
		}
		f.mu.Lock()
		f.events[e.Type+"/"+e.Device] = now
		f.seqs[e.Seq] = true
		f.mu.Unlock()
	case len(parts) == 4 && parts[2] == "alarms":
		f.mu.Lock()
		f.alarms[parts[3]] = m.Payload()
		f.mu.Unlock()
	case len(parts) == 4 && parts[2] == "reply":
		f.replies.Add(1)
	}
}

func (f *floodRoom) arrived(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.events[key]
	return ok
}

func (f *floodRoom) wait(what string, d time.Duration, cond func() bool) {
	f.t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.t.Fatalf("no %s within %s; gateway:\n%s", what, d, tail(f.gw.Out.String(), 3000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// input drives a simulated input and returns how long its event took to
// reach the driver through the broker.
func (f *floodRoom) input(device, state, typ string) time.Duration {
	f.t.Helper()
	key := typ + "/" + device
	f.mu.Lock()
	delete(f.events, key)
	f.mu.Unlock()
	start := time.Now()
	if tok := f.driver.Publish("roomguard/"+f.room+"/sim/input/"+device, 1, false, state); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		f.t.Fatalf("drive %s: %v", device, tok.Error())
	}
	f.wait(key, 60*time.Second, func() bool { return f.arrived(key) })
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.events[key].Sub(start)
}

// flood sends unsigned arms from the console's account at rate a second
// until stop is closed, as `mosquitto_pub -l` fed a stream would; it
// returns how many it sent.
func (f *floodRoom) flood(rate int, stop <-chan struct{}) <-chan int {
	c := f.m.ConnectAs(f.t, "console-1")
	sent := make(chan int, 1)
	go func() {
		n := 0
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				sent <- n
				return
			case <-tick.C:
			}
			for range rate / 100 {
				c.Publish("roomguard/"+f.room+"/cmd/arm", 0, false, `{"id":"f","by":"x"}`)
				n++
			}
		}
	}()
	return sent
}

// logBytes is the log's size on disk: the database and its WAL.
func (f *floodRoom) logBytes() int64 {
	var n int64
	for _, p := range []string{f.db, f.db + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

func (f *floodRoom) logged() map[string]int {
	n, _ := f.loggedAfter(0)
	return n
}

// loggedAfter counts the events logged after seq by type, and the bytes of
// those the inputs did not cause (refusals, alarms, checkpoints).
func (f *floodRoom) loggedAfter(seq uint64) (map[string]int, int) {
	r, err := sqlite.OpenReader(f.db)
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Close()
	evs, err := r.Query(gateway.EventFilter{AfterSeq: seq})
	if err != nil {
		f.t.Fatal(err)
	}
	n, bytes := map[string]int{}, 0
	for _, e := range evs {
		n[e.Type]++
		if !strings.HasPrefix(e.Type, "window.") {
			b, _ := json.Marshal(e)
			bytes += len(b)
		}
	}
	return n, bytes
}

func (f *floodRoom) lastSeq() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var high uint64
	for s := range f.seqs {
		high = max(high, s)
	}
	return high
}

// Issue 27, finding 1: a flood of unsigned commands on cmd/arm from an
// account the shipped ACL lets publish there neither blinds the room nor
// fills its disk: real inputs are logged and published during it, the log
// and the memory stay small, the refusals are counted (a few logged in
// full) and the command-forgery alarm still comes.
func TestRefusedCommandFloodDoesNotBlindTheRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	f := startFloodRoom(t)
	f.input("door-main", "open", "door.opened")
	before := f.logBytes()

	stop := make(chan struct{})
	sent := f.flood(5000, stop)
	time.Sleep(2 * time.Second)
	// Real inputs, during the flood: logged and on the broker.
	f.input("window-1", "open", "window.opened")
	f.input("window-1", "closed", "window.closed")
	f.wait("command-forgery alarm", 30*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, a := range f.alarms {
			if strings.Contains(string(a), `"command-forgery"`) {
				return true
			}
		}
		return false
	})
	time.Sleep(2 * time.Second)
	rss, peak, err := testenv.RSS(f.gw.Pid())
	if err != nil {
		t.Fatal(err)
	}
	close(stop)
	n := <-sent
	f.input("door-main", "closed", "door.closed")

	logged := f.logged()
	t.Logf("%d refused commands sent; logged %v; %d replies; log grew %d bytes; RSS %.1f MB (peak %.1f MB)",
		n, logged, f.replies.Load(), f.logBytes()-before, float64(rss)/(1<<20), float64(peak)/(1<<20))
	if n < 5000 {
		t.Fatalf("only %d commands sent: the flood did not happen", n)
	}
	if logged["auth.refused"] > 40 || logged["alarm.repeated"] > 10 {
		t.Errorf("the flood was logged one by one: %v", logged)
	}
	if grew := f.logBytes() - before; grew > 1<<20 {
		t.Errorf("the log grew %d bytes during a few seconds of flood", grew)
	}
	if peak > 100<<20 {
		t.Errorf("the gateway's peak RSS is %.1f MB under the flood", float64(peak)/(1<<20))
	}
	if r := f.replies.Load(); r > 20*10+40 {
		t.Errorf("%d replies to refused commands", r)
	}
	// Everything logged reached the broker, in one piece.
	f.mu.Lock()
	defer f.mu.Unlock()
	total := 0
	for _, c := range logged {
		total += c
	}
	for seq := uint64(1); seq <= uint64(total); seq++ {
		if !f.seqs[seq] {
			t.Errorf("seq %d of %d never reached the broker", seq, total)
		}
	}
}

// BenchmarkRefusedCommandFlood: a real input's latency, pin to subscriber,
// in a quiet room and during 20 s of 5,000 refused commands a second
// (issue 27), with the log's growth and the gateway's RSS.
func BenchmarkRefusedCommandFlood(b *testing.B) {
	f := startFloodRoom(b)
	measure := func(n int) testenv.Latencies {
		var l testenv.Latencies
		for i := range n {
			state, typ := "open", "window.opened"
			if i%2 == 1 {
				state, typ = "closed", "window.closed"
			}
			l = append(l, f.input("window-1", state, typ))
			time.Sleep(50 * time.Millisecond)
		}
		return l
	}
	// The same inputs for the same 20 s, without the flood and with it:
	// the latency, and what the log takes on (the file grows with every
	// commit's pages, the inputs' too, up to the WAL's high-water mark;
	// what the flood adds is the events it logs).
	phase := func(rate int) (l testenv.Latencies, fileMB, floodKB, floodEvents, sent, minutes float64, peak int64) {
		before, seq := f.logBytes(), f.lastSeq()
		stop := make(chan struct{})
		var n <-chan int
		if rate > 0 {
			n = f.flood(rate, stop)
		}
		start := time.Now()
		for time.Since(start) < 20*time.Second {
			l = append(l, measure(2)...)
		}
		_, peak, _ = testenv.RSS(f.gw.Pid())
		close(stop)
		if n != nil {
			sent = float64(<-n)
		}
		minutes = time.Since(start).Minutes()
		types, bytes := f.loggedAfter(seq)
		return l, float64(f.logBytes()-before) / (1 << 20) / minutes, float64(bytes) / (1 << 10) / minutes,
			float64(types["auth.refused"]+types["alarm.repeated"]) / minutes, sent, minutes, peak
	}
	for b.Loop() {
		quiet, quietFile, quietKB, _, _, _, quietPeak := phase(0)
		flooded, file, kB, events, sent, minutes, peak := phase(5000)
		quiet.Report(b, "quiet")
		flooded.Report(b, "flood")
		b.ReportMetric(float64(flooded.Quantile(0.99))/float64(quiet.Quantile(0.99)), "p99-ratio")
		b.ReportMetric(sent/minutes/60, "refused/s")
		b.ReportMetric(quietFile, "quiet-file-MB/min")
		b.ReportMetric(file, "flood-file-MB/min")
		b.ReportMetric(quietKB, "quiet-other-events-kB/min")
		b.ReportMetric(kB, "flood-other-events-kB/min")
		b.ReportMetric(events, "flood-refusal-events/min")
		b.ReportMetric(float64(quietPeak)/(1<<20), "quiet-peak-rss-MB")
		b.ReportMetric(float64(peak)/(1<<20), "flood-peak-rss-MB")
	}
}
