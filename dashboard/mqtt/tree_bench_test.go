package mqtt_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway/testenv"
)

// treeBroker starts a Mosquitto that bridges roomguard/# both ways to the
// broker at parent (0: none), as examples/mosquitto/site-bridge.conf does
// (its accounts and TLS left out).
func treeBroker(b *testing.B, parent int) *testenv.Mosquitto {
	return testenv.StartMosquittoConf(b, func(port int, dir string) string {
		conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nmax_queued_messages 0\nmax_inflight_messages 0\nset_tcp_nodelay true\nlog_dest stderr\nlog_type error\n", port, dir)
		if parent != 0 {
			conf += fmt.Sprintf("connection up\naddress 127.0.0.1:%d\ntopic roomguard/# both 1\ncleansession false\nrestart_timeout 1 2\nbridge_protocol_version mqttv311\n", parent)
		}
		return conf
	})
}

// BenchmarkBridgeTree (issue 33, item 3: a province): events published at
// the bottom of a tree of Mosquitto bridges (a site's broker) and read at
// its top (headquarters'), against the same on one broker, same run:
// ROOMGUARD_TREE_EVENTS (default 20,000) QoS 1 events of a gateway's size
// from one publisher, as fast as the broker takes them; the rate they
// arrive at the top and each one's way (its send time in its payload).
func BenchmarkBridgeTree(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("ROOMGUARD_TREE_EVENTS")); err == nil && v > 0 {
		n = v
	}
	for b.Loop() {
		for levels := 1; levels <= 3; levels++ {
			top := treeBroker(b, 0)
			bottom := top
			for range levels - 1 {
				bottom = treeBroker(b, bottom.Port)
			}
			time.Sleep(2 * time.Second) // the bridges up
			got := make(chan time.Duration, n)
			sub := paho.NewClient(paho.NewClientOptions().AddBroker(top.URL()).SetClientID(fmt.Sprintf("hq-%d", levels)))
			if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				b.Fatal(tok.Error())
			}
			sub.Subscribe("roomguard/+/events", 1, func(_ paho.Client, m paho.Message) {
				got <- time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(m.Payload()))))
			}).WaitTimeout(10 * time.Second)
			pub := paho.NewClient(paho.NewClientOptions().AddBroker(bottom.URL()).SetClientID(fmt.Sprintf("site-%d", levels)))
			if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				b.Fatal(tok.Error())
			}
			payload := make([]byte, 300) // a gateway's event is about this long
			start := time.Now()
			for i := range n {
				binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
				tok := pub.Publish(fmt.Sprintf("roomguard/room-%03d/events", i%200), 1, false, payload)
				if i%1000 == 999 {
					tok.WaitTimeout(10 * time.Second)
				}
			}
			lat := make([]time.Duration, 0, n)
			for deadline := time.After(2 * time.Minute); len(lat) < n; {
				select {
				case d := <-got:
					lat = append(lat, d)
				case <-deadline:
					b.Fatalf("%d brokers: %d of %d events arrived", levels, len(lat), n)
				}
			}
			took := time.Since(start)
			slices.Sort(lat)
			name := fmt.Sprintf("%d-brokers", levels)
			b.ReportMetric(float64(n)/took.Seconds(), name+"-events/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, name+"-p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, name+"-p99-ms")
			pub.Disconnect(100)
			sub.Disconnect(100)
			for _, m := range []*testenv.Mosquitto{top, bottom} {
				m.Stop()
			}
		}
	}
}
