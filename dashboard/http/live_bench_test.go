package http_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/dashboard"
	dhttp "github.com/roomguard/roomguard/dashboard/http"
	"github.com/roomguard/roomguard/dashboard/mqtt"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/testenv"
	"github.com/roomguard/roomguard/gateway/wire"
)

// BenchmarkPublishToBrowser: an event a gateway publishes → Mosquitto → the
// console's link → the replica (committed, synchronous=FULL) → the live
// stream → an SSE client's read. Target p99 ≤ 20 ms.
func BenchmarkPublishToBrowser(b *testing.B) {
	broker := testenv.StartMosquitto(b)
	clock := sysclock.New(sysclock.TrustAlways)
	store, err := sqlite.Open(filepath.Join(b.TempDir(), "dashboard.db"), clock)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	hub := dhttp.NewHub()
	if err := store.AddRoom("bench", "", "bench"); err != nil {
		b.Fatal(err)
	}
	link, err := mqtt.Connect(mqtt.LinkOpts{Conn: wire.Conn{URL: broker.URL()}, Store: store, Clock: clock,
		Stored: hub.Stored, State: hub.State, CatchUp: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer link.Close()
	srv := &dhttp.Server{Store: store, Rooms: link, Clock: clock, Argon2: testArgon2, Hub: hub}
	if err := srv.Init(); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	store.CreateUser(dashboard.User{Name: "guard1", Display: "guard1", Role: dashboard.RoleGuard,
		Hash: dashboard.HashPassword("guard1-password", testArgon2), Created: clock.Now(), CreatedBy: "bench"}, false)
	br := (&console{t: b, url: hs.URL}).as("guard1")

	for !link.Connected() {
		time.Sleep(10 * time.Millisecond)
	}
	res, err := br.client.Get(hs.URL + "/live?after=0")
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("live: %v %v", err, res)
	}
	defer res.Body.Close()
	got := make(chan uint64, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var ev struct{ Seq uint64 }
				if json.Unmarshal([]byte(d), &ev) == nil && ev.Seq > 0 {
					got <- ev.Seq
				}
			}
		}
		close(got)
	}()

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("bench-room"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	n := max(b.N, 300) // enough samples for a p99
	lat := make(testenv.Latencies, 0, n)
	b.ResetTimer()
	for i := 1; i <= n; i++ {
		e := gateway.Event{Seq: uint64(i), ID: fmt.Sprintf("bench-%d", i), TS: time.Now(), Room: "bench", Type: "alarm.raised",
			Severity: gateway.SeverityAlarm, Device: "door-main", Data: json.RawMessage(`{"alarm":"bench-1","class":"intrusion"}`)}
		p, _ := json.Marshal(e)
		start := time.Now()
		pub.Publish("roomguard/bench/events", 1, false, p)
		for seq := range got {
			if seq == uint64(i) {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	lat.Report(b, "publish-to-sse")
}
