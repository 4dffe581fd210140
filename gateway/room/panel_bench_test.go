package room_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/room"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

// BenchmarkEngineInputsWithAlarms: input changes per second through the
// engine with the panel armed, so every opening raises (or repeats) an
// intrusion alarm and every closing restores it — each change is logged,
// then judged by the panel and its alarm events logged, all durably. 16
// or 64 inputs change at once, each from its own goroutine as the drivers do.
func BenchmarkEngineInputsWithAlarms(b *testing.B) {
	for _, n := range []int{16, 64} {
		b.Run(fmt.Sprintf("%d-inputs", n), func(b *testing.B) { inputsWithAlarms(b, n) })
	}
}

func inputsWithAlarms(b *testing.B, inputs int) {
	clock := clocktest.New(t0)
	store, err := sqlite.Open(filepath.Join(b.TempDir(), "log.db"), "jiyao-301", clock)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	r := room.New(room.Config{ID: "jiyao-301", Panel: gateway.DefaultPanelConfig(), Access: config.DefaultAccess(), Inventory: -1},
		store, clock, &testSink{&sink{}, &retained{alarms: map[string]json.RawMessage{}, reports: map[string]json.RawMessage{}},
			&occupancySink{}, &vaultSink{states: map[string][]byte{}}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := 0; i < inputs; i++ {
		r.AddInput(gateway.Input{ID: fmt.Sprintf("window-%d", i), Kind: gateway.KindWindow}, false)
	}
	if err := r.Start("bench", true); err != nil {
		b.Fatal(err)
	}
	engine, panel := r.Engine, r.Panel
	if err := panel.Arm("li.ming"); err != nil {
		b.Fatal(err)
	}
	clock.Advance(time.Minute)
	const round = 4000
	total := 0
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		for in := 0; in < inputs; in++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("window-%d", in)
				for i := 0; i < round/inputs; i++ {
					if err := engine.InputChanged(id, i%2 == 0, clock.Now()); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		total += round
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "inputs/s")
	if n := len(panel.State().Alarms); n != inputs {
		b.Fatalf("%d open alarms, want one per input", n)
	}
}
