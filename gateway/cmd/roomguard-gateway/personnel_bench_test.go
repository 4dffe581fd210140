package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/csv"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// BenchmarkPersonnelImport: a CSV of 100,000 people checked and written to
// the gateway's register in one transaction (what personnel/replace does),
// and the resident memory this process keeps afterwards, with the register
// in use (10,000 lookups), against before.
func BenchmarkPersonnelImport(b *testing.B) {
	text := personnelCSV(100_000)
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		store, err := sqlite.Open(filepath.Join(dir, "log.db"), "bench", clocktest.New(time.Now()))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		debug.FreeOSMemory()
		before, _, _ := testenv.RSS(os.Getpid())
		b.StartTimer()
		people, err := csv.ReadPeople(strings.NewReader(text), "bench.csv", gateway.MaxRecords)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := store.ReplacePeople(people, 1, "bench", time.Now()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		people = nil
		for i := 0; i < 10_000; i++ {
			if p, err := store.PersonByCard(fmt.Sprintf("%010X", 0x2000000000+4+i*7)); p == nil || err != nil {
				b.Fatalf("lookup %d: %v %v", i, p, err)
			}
		}
		runtime.GC()
		debug.FreeOSMemory()
		after, _, _ := testenv.RSS(os.Getpid())
		b.ReportMetric(float64(after-before)/(1<<20), "rss-growth-MB")
		store.Close()
		b.StartTimer()
	}
}
