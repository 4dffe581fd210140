package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// A clean stop publishes everything it logged: the outputs it turns off on
// the way out are logged before gateway.stopped, and the publisher sends
// them all before it stops (issue 16: the last output.off waited for the
// next start).
func TestCleanStopPublishesEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	m := testenv.StartMosquitto(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "log.db")
	cfg := filepath.Join(dir, "room.yaml")
	yaml := fmt.Sprintf(`room: {id: %s, name: 测试室}
storage: {path: %s}
clock: {trust: always}
mqtt: {url: "%s", keepalive: 5s}
gpio: {poll: 50ms}
inputs:
  - {id: door-main, kind: door,        pin: GPIO17, active: high, debounce: 0s}
  - {id: rex,       kind: exit-button, pin: GPIO16, active: low,  debounce: 0s, strike: strike}
outputs:
  - {id: strike, kind: door-strike, pin: GPIO23, active: high, pulse: 20s}
`, room, db, m.URL())
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, m.URL(), room, "stop-sub")
	gw := testenv.StartGateway(t, "run", "--sim", "--config", cfg)
	sub.waitFor("sim ports", func() bool { return sub.latest["roomguard/"+room+"/sim/ports"] != nil })
	d := driver(t, m.URL())
	drive(d, "rex", "pressed").Wait()
	sub.waitFor("the strike released", func() bool { return hasType(sub.events, "output.on") })
	if err := gw.Stop(); err != nil { // the strike is still held for its 20 s
		t.Fatalf("stop: %v\n%s", err, gw.Out.String())
	}

	r, err := sqlite.OpenReader(db)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	logged, err := r.Query(gateway.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range logged {
		types = append(types, e.Type)
	}
	all := strings.Join(types, " ")
	if !strings.HasSuffix(all, "log.checkpoint output.off gateway.stopped") { // the head at the stop, signed; then the stop's change
		t.Fatalf("the log does not end with a checkpoint, then the strike off with the stop: %s", all)
	}
	last, err := r.LastSeq()
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := r.PublishedSeq(); err != nil || pub != last {
		t.Fatalf("published up to %d of %d (%v)", pub, last, err)
	}
	sub.waitFor("every logged event at the subscriber", func() bool {
		for _, e := range logged {
			if _, ok := sub.events[e.ID]; !ok {
				return false
			}
		}
		return true
	})
}
