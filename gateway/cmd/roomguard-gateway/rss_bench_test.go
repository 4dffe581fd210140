package main_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// BenchmarkGatewayRSS: the resident memory of the gateway process (the
// simulated room of the integration tests, its embedded broker), idle on a
// fresh log and idle on a log of 1,000,000 events, after 3 s of settling.
func BenchmarkGatewayRSS(b *testing.B) {
	for _, n := range []int{0, 1000000} {
		b.Run(fmt.Sprintf("%d-events", n), func(b *testing.B) {
			for b.Loop() {
				dir := b.TempDir()
				db := filepath.Join(dir, "log.db")
				if n > 0 {
					fill(b, db, n)
				}
				cfg := filepath.Join(dir, "room.yaml")
				os.WriteFile(cfg, []byte(fmt.Sprintf(`room: {id: %s, name: 测试室}
storage: {path: %s}
mqtt: {embedded: {listen: "127.0.0.1:0"}}
inputs:
  - {id: door-main, kind: door, pin: GPIO17, active: high}
  - {id: window-1, kind: window, pin: GPIO27, active: high}
  - {id: ir-1, kind: ir-detector, pin: GPIO5, active: high}
outputs:
  - {id: strike, kind: door-strike, pin: GPIO23, active: high}
`, room, db)), 0o600)
				gw := testenv.StartGateway(b, "run", "--sim", "--config", cfg)
				for deadline := time.Now().Add(30 * time.Second); !strings.Contains(gw.Out.String(), "mqtt connected"); time.Sleep(20 * time.Millisecond) {
					if time.Now().After(deadline) {
						b.Fatalf("gateway did not start:\n%s", gw.Out.String())
					}
				}
				time.Sleep(3 * time.Second)
				rss, peak, err := testenv.RSS(gw.Pid())
				if err != nil {
					b.Fatal(err)
				}
				gw.Stop()
				b.ReportMetric(float64(rss)/(1<<20), "rss-MB")
				b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MB")
			}
		})
	}
}

// fill writes n events to a new log at path, all marked published: the
// store creates the log, one SQL statement writes the rows (through the
// store, a million group commits would take a minute).
func fill(b *testing.B, path string, n int) {
	s, err := sqlite.Open(path, room, clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)))
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC).UnixMilli()
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO events (seq, id, ts_ms, type, severity, device, payload)
		SELECT i, printf('00000000-0000-7000-8000-%012d', i), ? + i * 1000, 'door.opened', 'info', 'door-main',
			CAST(printf('{"seq":%d,"id":"00000000-0000-7000-8000-%012d","ts":"2026-11-22T09:00:00.000Z","clock_trusted":true,"room":"%s","type":"door.opened","severity":"info","device":"door-main"}', i, i, ?) AS BLOB)
		FROM n`, n, start, room); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE outbox SET published_seq = ?`, n); err != nil {
		b.Fatal(err)
	}
}
