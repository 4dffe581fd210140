package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// BenchmarkConsoleCPUPerEvent (issue 33): the console's processor time per
// live event, read from outside the process (/proc/<pid>/stat), while ROOMS
// rooms (ROOMGUARD_ROOMS, default 50) send RATE input changes a second in
// all (ROOMGUARD_RATE, default 500) for ROOMGUARD_CPU_SECONDS (default 10):
// each an event and its device's retained state, as a gateway sends them.
// In the same run the console that commits as soon as nothing waits (the
// default) and one that lingers 2 ms for more (--batch-linger 2ms), and
// two bare processes as the baselines: paho receiving the same messages at
// QoS 1 and doing nothing with them ("bare-paho"), and paho with the events
// committed to one table in a transaction a burst, synchronous=FULL
// ("bare-commit"): the least any console on these libraries does.
func BenchmarkConsoleCPUPerEvent(b *testing.B) {
	env := func(name string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
			return v
		}
		return def
	}
	rooms, rate, seconds := env("ROOMGUARD_ROOMS", 50), env("ROOMGUARD_RATE", 500), env("ROOMGUARD_CPU_SECONDS", 10)
	for b.Loop() {
		m := testenv.StartMosquitto(b)
		pub := paho.NewClient(paho.NewClientOptions().AddBroker(m.URL()).SetClientID("cpu-rooms"))
		if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatal(tok.Error())
		}
		seq := make([]uint64, rooms)
		var bare float64
		for _, commit := range []string{"0", "1"} {
			name := map[string]string{"0": "bare-paho", "1": "bare-commit"}[commit]
			bareProc := exec.Command(os.Args[0], "-test.run", "^TestBareConsoleProcess$")
			bareProc.Env = append(os.Environ(), "ROOMGUARD_BARE_BROKER="+m.URL(), "ROOMGUARD_BARE_LOG="+filepath.Join(b.TempDir(), "bare.db"), "ROOMGUARD_BARE_COMMIT="+commit)
			bareProc.Stdout, bareProc.Stderr = os.Stderr, os.Stderr
			if err := bareProc.Start(); err != nil {
				b.Fatal(err)
			}
			time.Sleep(2 * time.Second) // subscribed
			perEvent, _ := driveCPU(b, bareProc.Process.Pid, pub, rate, seconds, seq, nil)
			if err := bareProc.Process.Kill(); err != nil {
				b.Fatal(err)
			}
			_ = bareProc.Wait() // killed
			b.ReportMetric(perEvent, name+"-cpu-ms/event")
			bare = perEvent
		}
		for i, linger := range []string{"0s", "2ms"} {
			perEvent, events := consoleCPU(b, m.URL(), pub, rooms, rate, seconds, linger, seq)
			name := []string{"at-once", "linger"}[i]
			b.ReportMetric(perEvent, name+"-cpu-ms/event")
			b.ReportMetric(perEvent/bare, name+"-x-bare-commit")
			b.ReportMetric(float64(events)/float64(seconds), name+"-events/s")
		}
		pub.Disconnect(100)
	}
}

// consoleCPU runs a console with --batch-linger linger and measures it.
func consoleCPU(b *testing.B, broker string, pub paho.Client, rooms, rate, seconds int, linger string, seq []uint64) (float64, uint64) {
	dir := b.TempDir()
	db := filepath.Join(dir, "dashboard.db")
	for r := range rooms {
		if out, err := exec.Command(testenv.Dashboard(b), "room", "add", "--db", db, fmt.Sprintf("cpu-%03d", r)).CombinedOutput(); err != nil {
			b.Fatalf("room add: %v\n%s", err, out)
		}
	}
	metrics := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	console := testenv.Start(b, testenv.Dashboard(b), "serve", "--db", db, "--listen", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b)),
		"--metrics-listen", metrics, "--broker", broker, "--batch-linger", linger)
	high := regexp.MustCompile(`(?m)^roomguard_console_replica_high\{room="cpu-\d+"\} (\d+)`)
	held := func() uint64 {
		res, err := http.Get("http://" + metrics + "/metrics")
		if err != nil {
			return 0
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		var n uint64
		for _, m := range high.FindAllSubmatch(body, -1) {
			v, _ := strconv.ParseUint(string(m[1]), 10, 64)
			n += v
		}
		return n
	}
	// (A console new to the rooms: their highest seq, summed, is what it
	// holds once it has every event sent to it; it asks no room for the
	// ones before, which nobody answers here.)
	time.Sleep(2 * time.Second)
	perEvent, sent := driveCPU(b, console.Pid(), pub, rate, seconds, seq, held)
	if err := console.Stop(); err != nil {
		b.Logf("console stop: %v", err)
	}
	return perEvent, sent
}

// driveCPU sends rate input changes a second for seconds, round the rooms of
// seq, and returns the processor time of process pid per change and how
// many it sent: measured once held (nil: a second after the last) reaches
// every seq sent.
func driveCPU(b *testing.B, pid int, pub paho.Client, rate, seconds int, seq []uint64, held func() uint64) (float64, uint64) {
	var sent uint64
	cpu := func() time.Duration {
		c, err := testenv.CPU(pid)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	c0 := cpu()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for end, n := time.Now().Add(time.Duration(seconds)*time.Second), 0; time.Now().Before(end); n++ {
		<-tick.C
		r := n % len(seq)
		seq[r]++
		doorChange(pub, fmt.Sprintf("cpu-%03d", r), seq[r])
		sent++
	}
	tick.Stop()
	if held == nil {
		time.Sleep(time.Second)
	} else {
		var top uint64
		for _, s := range seq {
			top += s
		}
		for deadline := time.Now().Add(60 * time.Second); held() < top; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("the console's rooms reach %d, want %d", held(), top)
			}
		}
	}
	return float64(cpu()-c0) / float64(sent) / float64(time.Millisecond), sent
}

// doorChange publishes what a room's gateway publishes when its door opens
// or closes (the seq-th change): the event, and the door's retained state.
func doorChange(pub paho.Client, room string, seq uint64) {
	now := time.Now()
	state := []string{"closed", "open"}[seq%2]
	ev, _ := json.Marshal(gateway.Event{Seq: seq, ID: gateway.NewEventID(now), TS: now, ClockTrusted: true, Room: room,
		Type: "door." + map[string]string{"open": "opened", "closed": "closed"}[state], Severity: gateway.SeverityInfo, Device: "door-main"})
	st, _ := json.Marshal(map[string]any{"device": "door-main", "kind": "door", "state": state, "active": state == "open",
		"since": now.Format(gateway.TimeFormat), "seq": seq})
	pub.Publish("roomguard/"+room+"/events", 1, false, ev)
	pub.Publish("roomguard/"+room+"/devices/door-main", 1, true, st)
}

// TestBareConsoleProcess is the baseline of BenchmarkConsoleCPUPerEvent, not
// a test: with ROOMGUARD_BARE_BROKER set, the test binary becomes a process
// that receives every room's events and device states over MQTT at QoS 1
// (paho) and, with ROOMGUARD_BARE_COMMIT=1, commits the events it took to
// one table, a transaction a burst (SQLite, WAL, synchronous=FULL), until
// it is killed.
func TestBareConsoleProcess(t *testing.T) {
	broker := os.Getenv("ROOMGUARD_BARE_BROKER")
	if broker == "" {
		return
	}
	db, err := testenv.BareEventLog(os.Getenv("ROOMGUARD_BARE_LOG"))
	if err != nil {
		t.Fatal(err)
	}
	commit := os.Getenv("ROOMGUARD_BARE_COMMIT") == "1"
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("bare-console").SetOrderMatters(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("bare connect: %v", tok.Error())
	}
	in := make(chan paho.Message, 8192)
	if tok := c.SubscribeMultiple(map[string]byte{"roomguard/+/events": 1, "roomguard/+/devices/+": 1},
		func(_ paho.Client, m paho.Message) { in <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("bare subscribe: %v", tok.Error())
	}
	for m := range in {
		events := 0
		for more := true; more; {
			if strings.HasSuffix(m.Topic(), "/events") {
				events++
			}
			select {
			case m = <-in:
			default:
				more = false
			}
		}
		if commit && events > 0 {
			if err := testenv.CommitBareRows(db, events); err != nil {
				t.Fatal(err)
			}
		}
	}
}
