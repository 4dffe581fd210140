package notify_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/roomguard/roomguard/devices/modem"
	"github.com/roomguard/roomguard/devices/modem/modemsim"
	"github.com/roomguard/roomguard/devices/serialline"
	"github.com/roomguard/roomguard/devices/serialsim"
	"github.com/roomguard/roomguard/gateway/notify"
	"github.com/roomguard/roomguard/gateway/sysclock"
)

// BenchmarkAlarmToSMS: an alarm published → its call-down's first step →
// the SMS sent by the simulated modem on a pseudo-terminal (the real driver
// through tarm/serial), each alarm a new one. Target: p99 ≤ 1 s.
func BenchmarkAlarmToSMS(b *testing.B) {
	l, err := serialsim.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	dev, err := os.OpenFile(l.DevicePath, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	sim := modemsim.New(dev)
	go sim.Serve()
	m := modem.New()
	stop := make(chan struct{})
	up := make(chan struct{}, 1)
	go serialline.Supervise(stop, serialline.Opts{Path: l.GatewayPath, Baud: 115200, Status: func(ok bool, _ error) {
		if ok {
			up <- struct{}{}
		}
	}}, m.Driver)
	defer close(stop)
	<-up
	cfg := notify.Config{Room: "jiyao-301", RoomName: "机要室 301", People: []notify.Person{{ID: "guard", Phone: "13800000001"}},
		Rules: []notify.Rule{{Steps: []notify.Step{{People: []string{"guard"}}}}}}
	n := notify.New(cfg, sysclock.New(sysclock.TrustAlways), &events{}, notify.Channels(m), sink{})
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		id := "a" + time.Now().Format("150405.000000000")
		start := time.Now()
		n.Alarm(id, alarmJSON(id, "intrusion", "active", 1))
		for len(sim.Sent()) <= i {
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
		n.Alarm(id, nil)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
