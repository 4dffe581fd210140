package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
)

// BenchmarkDutyScreenTone measures issue 20's second latency: an alarm
// raised (its alarm.raised published on the broker by the room) → the duty
// screen plays its first tone, through the console's link, replica, live
// stream and the page's script in Chromium. Each iteration is a new alarm
// of a room; the tone's time is the page's own (window.rgToneAt), on the
// same clock as the publisher's. Target: p99 ≤ 1 s.
func BenchmarkDutyScreenTone(b *testing.B) {
	s := startStack(b)
	ctx := browserContext(b, chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	s.firstAdmin(ctx, "bench", "值班员", "")
	do(b, ctx, "on duty",
		chromedp.Navigate(s.url+"/duty"),
		chromedp.Click(chromedp.CSS("#duty-start")),
		chromedp.WaitVisible(chromedp.CSS("#on-duty")),
	)
	waitJS(b, ctx, "the sound", `!`+seen("duty-sound"))
	const room = "bench-room"
	// the baseline of the same run: the bare broker, publish → a subscriber
	got := make(chan time.Time, 1)
	if tok := s.pub.Subscribe("roomguard/"+room+"/events", 1, func(paho.Client, paho.Message) { got <- time.Now() }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("subscribe: %v", tok.Error())
	}
	lat, bare := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		before := value(b, ctx, "tones", chromedp.Evaluate[int](`window.rgTones`))
		data, _ := json.Marshal(map[string]any{"alarm": fmt.Sprintf("%s-%d", room, i), "class": "intrusion", "priority": 1})
		now := time.Now()
		ev, _ := json.Marshal(gateway.Event{Seq: uint64(i), ID: gateway.NewEventID(now), TS: now, ClockTrusted: true, Room: room,
			Type: "alarm.raised", Severity: gateway.SeverityCritical, Device: "ir-1", Data: data})
		if tok := s.pub.Publish("roomguard/"+room+"/events", 1, false, ev); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("publish: %v", tok.Error())
		}
		bare = append(bare, (<-got).Sub(now))
		waitJS(b, ctx, "the tone", fmt.Sprintf("window.rgTones > %d", before))
		at := value(b, ctx, "when", chromedp.Evaluate[int64](`window.rgToneAt[window.rgToneAt.length - 1]`))
		lat = append(lat, time.UnixMilli(at).Sub(now))
	}
	b.StopTimer()
	slices.Sort(lat)
	slices.Sort(bare)
	p99 := func(d []time.Duration) float64 { return float64(d[len(d)*99/100].Microseconds()) / 1000 }
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(p99(lat), "p99-ms")
	b.ReportMetric(p99(bare), "bare-broker-p99-ms")
}
