package main_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway/testenv"
)

// A broken config stops the gateway before it does anything: exit status 2
// and a message naming the file, the line and the field.
func TestBrokenConfigExitsNamingTheField(t *testing.T) {
	cases := []struct {
		name, config string
		want         []string
	}{
		{"bad debounce", "room: {id: r1, name: x}\nstorage: {path: DIR/x.db}\ninputs:\n  - {id: door, kind: door, pin: GPIO17, active: high, debounce: soon}\n",
			[]string{"room.yaml:4", "inputs[0].debounce"}},
		{"typo", "room: {id: r1, name: x}\nstorage: {path: DIR/x.db}\nmqttt: {url: tcp://127.0.0.1:1883}\n",
			[]string{"room.yaml:3", "mqttt", "unknown field"}},
		{"not yaml", "room: [\n", []string{"room.yaml"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "room.yaml")
			os.WriteFile(cfg, []byte(strings.ReplaceAll(c.config, "DIR", dir)), 0o600)
			for _, cmd := range [][]string{{"run", "--sim", "--config", cfg}, {"check-config", "--config", cfg}} {
				out, err := exec.Command(testenv.Gateway(t), cmd...).CombinedOutput()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 2 {
					t.Fatalf("%s: exit %v, want status 2\n%s", cmd[0], err, out)
				}
				for _, w := range c.want {
					if !strings.Contains(string(out), w) {
						t.Errorf("%s: output does not name %q:\n%s", cmd[0], w, out)
					}
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
				t.Error("a log was created from a broken config")
			}
		})
	}
}

// Issue 19, item 1: --listen on every interface without broker accounts is
// refused as the config's listen would be, before anything is written.
func TestListenFlagKeepsTheLoopbackRule(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:1883"} {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a broker that opened would run on
		out, err := exec.CommandContext(ctx, testenv.Gateway(t), "run", "--sim", "--config", "../../../examples/room.yaml", "--db", db, "--listen", addr, "--http", "127.0.0.1:0").CombinedOutput()
		cancel()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), "reachable from the network") || !strings.Contains(string(out), "--listen") {
			t.Errorf("--listen %s: %v\n%s", addr, err, out)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a log was created though the broker was refused")
	}
}
