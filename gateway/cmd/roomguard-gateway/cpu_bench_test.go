package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// BenchmarkGatewayCPUPerEvent: the gateway's processor time per live event,
// read from outside the process (/proc/<pid>/stat) while a driver sends 200
// input changes a second through the simulated room for 60 s
// (ROOMGUARD_CPU_SECONDS to change it; ROOMGUARD_CPU_PROFILE=FILE: the gateway
// writes its CPU profile there), on an external Mosquitto with a
// subscriber: each change read from its pin, decided, committed, published.
// Reported whole and net of the idle process's own (its pins polled, its
// session kept), measured for 10 s before; and as a ratio to the bare
// process driven the same way in the same run (TestBareEventProcess: the
// same libraries doing the least the path must do).
func BenchmarkGatewayCPUPerEvent(b *testing.B) {
	seconds := 60
	if s, err := strconv.Atoi(os.Getenv("ROOMGUARD_CPU_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	for b.Loop() {
		m := testenv.StartMosquitto(b)
		d := driver(b, m.URL())

		var bareEvents atomic.Int64
		online := make(chan struct{}, 1)
		bareSub := paho.NewClient(paho.NewClientOptions().AddBroker(m.URL()).SetClientID("cpu-bare-sub"))
		if tok := bareSub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("bare subscriber: %v", tok.Error())
		}
		defer bareSub.Disconnect(100)
		if tok := bareSub.SubscribeMultiple(map[string]byte{"roomguard/" + room + "/events": 1, "roomguard/" + room + "/status": 1},
			func(_ paho.Client, msg paho.Message) {
				if strings.HasSuffix(msg.Topic(), "/events") {
					bareEvents.Add(1)
				} else {
					online <- struct{}{}
				}
			}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("bare subscriber: %v", tok.Error())
		}
		bare := exec.Command(os.Args[0], "-test.run", "^TestBareEventProcess$")
		bare.Env = append(os.Environ(), "ROOMGUARD_BARE_BROKER="+m.URL(), "ROOMGUARD_BARE_LOG="+filepath.Join(b.TempDir(), "bare.db"))
		bare.Stdout, bare.Stderr = os.Stderr, os.Stderr
		if err := bare.Start(); err != nil {
			b.Fatal(err)
		}
		select {
		case <-online:
		case <-time.After(10 * time.Second):
			b.Fatal("the bare process did not come online")
		}
		bareRun := driveCPU(b, d, bare.Process.Pid, seconds, func() uint64 { return uint64(bareEvents.Load()) })
		if err := bare.Process.Kill(); err != nil {
			b.Fatal(err)
		}
		if err := bare.Wait(); err == nil {
			b.Fatal("the bare process ended by itself")
		}

		cfg, db := roomConfig(b, m.URL())
		sub := subscribe(b, m.URL(), room, "cpu-sub")
		args := []string{"run", "--sim", "--config", cfg}
		if p := os.Getenv("ROOMGUARD_CPU_PROFILE"); p != "" { // the gateway's own profile of the run
			args = append(args, "--cpuprofile", p)
		}
		gw := testenv.StartGateway(b, args...)
		sub.waitFor("online", func() bool { return strings.Contains(string(sub.latest["roomguard/"+room+"/status"]), `"online"`) })
		sub.waitFor("sim ports", func() bool { return sub.latest["roomguard/"+room+"/sim/ports"] != nil })
		r, err := sqlite.OpenReader(db)
		if err != nil {
			b.Fatal(err)
		}
		first, err := r.LastSeq()
		if err != nil {
			b.Fatal(err)
		}
		run := driveCPU(b, d, gw.Pid(), seconds, func() uint64 {
			last, _ := r.LastSeq()
			published, _ := r.PublishedSeq()
			if published < last {
				return 0
			}
			return last - first
		})
		r.Close()
		if err := gw.Stop(); err != nil {
			b.Logf("gateway stop: %v", err)
		}
		b.ReportMetric(run.perEvent(), "cpu-ms/event")
		b.ReportMetric(run.net(), "net-cpu-ms/event")
		b.ReportMetric(run.idle*100, "idle-cpu-%")
		b.ReportMetric(run.rate(), "events/s")
		b.ReportMetric(bareRun.perEvent(), "bare-cpu-ms/event")
		b.ReportMetric(run.perEvent()/bareRun.perEvent(), "x-bare")
	}
}

// cpuRun is what drive measured of one process.
type cpuRun struct {
	used, elapsed time.Duration
	events        uint64
	idle          float64 // share of a core the idle process spent
}

func (c cpuRun) perEvent() float64 {
	return float64(c.used) / float64(c.events) / float64(time.Millisecond)
}

func (c cpuRun) net() float64 {
	return (float64(c.used) - c.idle*float64(c.elapsed)) / float64(c.events) / float64(time.Millisecond)
}

func (c cpuRun) rate() float64 { return float64(c.events) / c.elapsed.Seconds() }

// driveCPU measures pid's processor time idle for 10 s, then while 200 input
// changes a second go to the simulated room's inputs for seconds, until
// events (what pid has carried out and published so far) counts them all.
func driveCPU(b *testing.B, d paho.Client, pid, seconds int, events func() uint64) cpuRun {
	const rate = 200
	cpu := func() time.Duration {
		c, err := testenv.CPU(pid)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	time.Sleep(2 * time.Second) // the start's work done
	idle0, idleAt := cpu(), time.Now()
	time.Sleep(10 * time.Second)
	var run cpuRun
	run.idle = float64(cpu()-idle0) / float64(time.Since(idleAt))
	first := events()
	c0, at := cpu(), time.Now()
	tick := time.NewTicker(time.Second / rate)
	sent := 0
	for end := at.Add(time.Duration(seconds) * time.Second); time.Now().Before(end); <-tick.C {
		lane := sent % burstLanes
		state := [2]string{"open", "closed"}[(sent/burstLanes)%2]
		d.Publish("roomguard/"+room+"/sim/input/"+fmt.Sprintf("burst-%d", lane), 0, false, state)
		sent++
	}
	tick.Stop()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if run.events = events() - first; run.events >= uint64(sent) {
			break
		}
	}
	run.used, run.elapsed = cpu()-c0, time.Since(at)
	if run.events < uint64(sent)*9/10 {
		b.Fatalf("%d input changes sent, %d events logged and published", sent, run.events)
	}
	return run
}

// TestBareEventProcess is the baseline of BenchmarkGatewayCPUPerEvent, not a
// test: with ROOMGUARD_BARE_BROKER set, the test binary becomes a process
// that does the least a live event must cost with the gateway's libraries —
// each input change received over MQTT (paho) is one row committed to the
// log's events table (SQLite, WAL, synchronous=FULL) and then published at
// QoS 1 (the PUBACK awaited) — until it is killed.
func TestBareEventProcess(t *testing.T) {
	broker := os.Getenv("ROOMGUARD_BARE_BROKER")
	if broker == "" {
		return
	}
	db, err := testenv.BareEventLog(os.Getenv("ROOMGUARD_BARE_LOG"))
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("bare-gateway"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("bare connect: %v", tok.Error())
	}
	inputs := make(chan paho.Message, 1024)
	if tok := c.Subscribe("roomguard/"+room+"/sim/input/#", 1, func(_ paho.Client, m paho.Message) { inputs <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("bare subscribe: %v", tok.Error())
	}
	if tok := c.Publish("roomguard/"+room+"/status", 1, true, `{"state":"online"}`); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("bare status: %v", tok.Error())
	}
	for range inputs {
		if err := testenv.CommitBareRows(db, 1); err != nil {
			t.Fatal(err)
		}
		if tok := c.Publish("roomguard/"+room+"/events", 1, false, testenv.BarePayload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("bare publish: %v", tok.Error())
		}
	}
}
