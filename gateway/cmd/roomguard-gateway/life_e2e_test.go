package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// The life `make run` plays, one day at 60 times real speed, against the
// example room run with --sim through Mosquitto: it must tell the story it
// claims, with the room's own rules (registers, anti-passback, arming
// checks) deciding every step.
func TestLifeOfTheExampleRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a day")
	}
	m := testenv.StartMosquitto(t)
	example, err := os.ReadFile("../../../examples/room.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := strings.Replace(string(example), "path: /var/lib/roomguard/jiyao-301.db", "path: "+filepath.Join(dir, "room.db"), 1)
	text += "\nmqtt: {url: \"" + m.URL() + "\"}\n"
	cfgPath := filepath.Join(dir, "room.yaml")
	os.WriteFile(cfgPath, []byte(text), 0o600)
	cfg, err := config.Parse([]byte(text), cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(enroll(cfg), daemonOpts{Sim: true, LogLevel: slog.LevelWarn, Stdout: io.Discard, Stderr: gatewayLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	w := watch(t, m.URL(), cfg.Room.ID)

	var out bytes.Buffer
	if err := Main(context.Background(), []string{"life", "--config", cfgPath, "--days", "1", "--speed", "60"}, &out, &out); err != nil {
		t.Fatalf("life: %v\n%s", err, out.String())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	count := map[string]int{}
	var order []string
	for i, e := range w.events {
		count[e]++
		if e == "arming.refused" || e == "mode.arming" || e == "carrier.signed_out" || e == "carrier.returned" {
			order = append(order, e)
		}
		if e == "access.denied" && data(w.payloads[i])["reason"] != "unknown_card" {
			t.Errorf("a denial the script did not mean: %v", w.payloads[i])
		}
	}
	if count["access.entered"] < 3 || count["access.exited"] < 3 || count["access.denied"] != 1 {
		t.Errorf("entries %d, exits %d, denials %d", count["access.entered"], count["access.exited"], count["access.denied"])
	}
	want := "carrier.signed_out carrier.returned arming.refused mode.arming"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("the day went %q, want %q", got, want)
	}
	if count["alarm.raised"] != 0 {
		t.Errorf("the day raised %d alarms", count["alarm.raised"])
	}
	if len(w.bad) > 0 {
		t.Errorf("payloads off their schemas: %v", w.bad)
	}
	if t.Failed() {
		t.Logf("life said:\n%s\nevents: %v", out.String(), w.events)
	}
	if !strings.Contains(out.String(), "refused") || !strings.Contains(out.String(), "window-east") {
		t.Errorf("the refused arming is not told:\n%s", out.String())
	}
}
