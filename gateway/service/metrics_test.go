package service_test

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/service"
	"github.com/roomguard/roomguard/gateway/testenv"
)

type metricsRoom struct{ alarms []*gateway.Alarm }

func (r metricsRoom) Alarms() []*gateway.Alarm { return r.alarms }

type metricsLog struct{ seq, published uint64 }

func (l metricsLog) Head() (uint64, string)        { return l.seq, "" }
func (l metricsLog) PublishedSeq() (uint64, error) { return l.published, nil }
func (l metricsLog) CommitLatency() (uint64, float64, map[float64]uint64) {
	return 3, 0.006, map[float64]uint64{0.001: 1, 0.005: 3}
}

type metricsSession struct{}

func (metricsSession) State() (uint64, bool, <-chan struct{}) { return 2, true, nil }

type heardLines map[string]time.Time

func (h heardLines) LastHeard() map[string]time.Time { return h }

func scrape(t *testing.T, m *service.Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	s, err := testenv.Samples(string(body))
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return s
}

// Issue 32, item 2: what the gateway's /metrics says, read with
// Prometheus's text parser: the log and its outbox, the broker, open alarms
// by class and priority, commands refused by code, each reader's and
// board's last-frame age, the call-down's deliveries by channel and result.
func TestMetrics(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC))
	deliveries := service.NewDeliveries()
	for _, ev := range []gateway.Event{
		{Type: "notify.sent", Data: []byte(`{"channel":"sms"}`)},
		{Type: "notify.sent", Data: []byte(`{"channel":"sms"}`)},
		{Type: "notify.failed", Data: []byte(`{"channel":"call"}`)},
		{Type: "alarm.raised", Data: []byte(`{"channel":"sms"}`)}, // not a delivery
	} {
		if err := deliveries.Log(ev); err != nil {
			t.Fatal(err)
		}
	}
	lines := heardLines{"uhf-safes": time.Now().Add(-90 * time.Second), "board-1": {}}
	m := service.NewMetrics(service.Metrics{
		Room: metricsRoom{[]*gateway.Alarm{
			{Class: gateway.AlarmTamper, Priority: 3}, {Class: gateway.AlarmTamper, Priority: 3},
			{Class: gateway.AlarmIntrusion, Priority: 1}, {Class: gateway.AlarmIntrusion, Priority: 1, ClosedAt: clock.Now()},
		}},
		Log: metricsLog{seq: 120, published: 100}, Session: metricsSession{}, Clock: clock,
		Devices: lines, Notifications: deliveries,
		Storage: func() (uint64, uint64, error) { return 32 << 30, 3 << 30, nil },
	})
	m.Refused("forbidden")
	m.Refused("forbidden")
	m.Refused("stale")
	clock.Advance(7 * time.Second)
	s := scrape(t, m)
	for name, want := range map[string]float64{
		"roomguard_events_logged":                                       120,
		"roomguard_events_published":                                    100,
		"roomguard_outbox_lag_events":                                   20,
		"roomguard_broker_up":                                           1,
		"roomguard_broker_connections_total":                            2,
		`roomguard_open_alarms{class="tamper",priority="3"}`:            2,
		`roomguard_open_alarms{class="intrusion",priority="1"}`:         1,
		`roomguard_commands_refused_total{code="forbidden"}`:            2,
		`roomguard_commands_refused_total{code="stale"}`:                1,
		`roomguard_notifications_total{channel="sms",result="sent"}`:    2,
		`roomguard_notifications_total{channel="call",result="failed"}`: 1,
		"roomguard_commit_seconds_count":                                3,
		`roomguard_commit_seconds_bucket{le="0.005"}`:                   3,
	} {
		if got, ok := s[name]; !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", name, got, ok, want)
		}
	}
	if age := s[`roomguard_device_last_frame_age_seconds{device="uhf-safes"}`]; age < 90 || age > 120 {
		t.Errorf("the UHF reader last heard %v s ago, want about 90", age)
	}
	if age, ok := s[`roomguard_device_last_frame_age_seconds{device="board-1"}`]; !ok || age < 0 || age > 30 {
		t.Errorf("a board never heard: %v (%v), want the time since the start", age, ok)
	}
	if _, ok := s[`roomguard_notifications_total{channel="sms",result="raised"}`]; ok {
		t.Error("an alarm event counted as a delivery")
	}
}
