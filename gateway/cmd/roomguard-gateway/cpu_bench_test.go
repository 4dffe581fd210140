package main_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

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
// session kept), measured for 10 s before.
func BenchmarkGatewayCPUPerEvent(b *testing.B) {
	seconds := 60
	if s, err := strconv.Atoi(os.Getenv("ROOMGUARD_CPU_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	const rate = 200
	for b.Loop() {
		m := testenv.StartMosquitto(b)
		cfg, db := roomConfig(b, m.URL())
		sub := subscribe(b, m.URL(), room, "cpu-sub")
		args := []string{"run", "--sim", "--config", cfg}
		if p := os.Getenv("ROOMGUARD_CPU_PROFILE"); p != "" { // the gateway's own profile of the run
			args = append(args, "--cpuprofile", p)
		}
		gw := testenv.StartGateway(b, args...)
		sub.waitFor("online", func() bool { return strings.Contains(string(sub.latest["roomguard/"+room+"/status"]), `"online"`) })
		sub.waitFor("sim ports", func() bool { return sub.latest["roomguard/"+room+"/sim/ports"] != nil })
		d := driver(b, m.URL())
		r, err := sqlite.OpenReader(db)
		if err != nil {
			b.Fatal(err)
		}
		cpu := func() time.Duration {
			c, err := testenv.CPU(gw.Pid())
			if err != nil {
				b.Fatal(err)
			}
			return c
		}
		time.Sleep(2 * time.Second) // the start's work done
		idle0, idleAt := cpu(), time.Now()
		time.Sleep(10 * time.Second)
		idle := float64(cpu()-idle0) / float64(time.Since(idleAt))

		first, err := r.LastSeq()
		if err != nil {
			b.Fatal(err)
		}
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
		var last, published uint64
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			last, _ = r.LastSeq()
			published, _ = r.PublishedSeq()
			if last-first >= uint64(sent) && published == last {
				break
			}
		}
		used, elapsed := cpu()-c0, time.Since(at)
		events := last - first
		if events < uint64(sent)*9/10 {
			b.Fatalf("%d input changes sent, %d events logged", sent, events)
		}
		r.Close()
		if err := gw.Stop(); err != nil {
			b.Logf("gateway stop: %v", err)
		}
		perEvent := float64(used) / float64(events) / float64(time.Millisecond)
		net := (float64(used) - idle*float64(elapsed)) / float64(events) / float64(time.Millisecond)
		b.ReportMetric(perEvent, "cpu-ms/event")
		b.ReportMetric(net, "net-cpu-ms/event")
		b.ReportMetric(idle*100, "idle-cpu-%")
		b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	}
}
