package sqlite_test

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// BenchmarkAppendConcurrent: events committed per second (synchronous=FULL)
// when many producers each wait for their own commit — the store alone,
// without the publisher.
func BenchmarkAppendConcurrent(b *testing.B) {
	for _, producers := range []int{1, 16, 64, 256} {
		b.Run(strconv.Itoa(producers)+"-producers", func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "log.db"))
			start := time.Now()
			total := 0
			for b.Loop() {
				const round = 10000
				var wg sync.WaitGroup
				for p := 0; p < producers; p++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := p; i < round; i += producers {
							if _, err := s.Append(gateway.Event{Type: "window.opened", Severity: gateway.SeverityInfo, Device: "window-1"}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				total += round
			}
			b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")

		})
	}
}
