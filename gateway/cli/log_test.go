package cli_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway/cli"
)

// Issue 32, item 4: JSON logs are a JSON object a line, from the level
// asked; under systemd each line carries its journald priority; a bad
// format or level is refused naming the flag.
func TestLogger(t *testing.T) {
	var b bytes.Buffer
	log, err := cli.Logger(&b, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("not shown")
	log.With("part", "mqtt").Warn("broker lost", "err", "EOF")
	log.Error("log cannot write")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), b.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil || m["level"] != "WARN" || m["part"] != "mqtt" || m["msg"] != "broker lost" {
		t.Fatalf("line %q: %v %v", lines[0], m, err)
	}
	t.Setenv("JOURNAL_STREAM", "8:12345")
	b.Reset()
	log, _ = cli.Logger(&b, "text", "debug")
	log.Debug("d")
	log.Info("i")
	log.Warn("w")
	log.Error("e")
	got := ""
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		got += l[:3]
	}
	if got != "<7><6><4><3>" {
		t.Fatalf("priorities %q:\n%s", got, b.String())
	}
	if _, err := cli.Logger(&b, "xml", "info"); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Fatalf("a bad format: %v", err)
	}
	if _, err := cli.Logger(&b, "text", "loud"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Fatalf("a bad level: %v", err)
	}
}

// The man page made from a usage text: one entry a command, roff escaped.
func TestManPage(t *testing.T) {
	page := cli.ManPage("roomguard-gateway", "2026-12-07", "security gateway of a confidential room",
		"usage: x\n\ncommands:\n  run            guard the room (--sim: simulated)\n  log verify     walk the chain\n", "/usr/share/doc/roomguard-gateway/commands.md")
	for _, want := range []string{".TH ROOMGUARD-GATEWAY 1", ".B run\nguard the room (\\-\\-sim: simulated)", ".B log verify\nwalk the chain", ".SH SEE ALSO"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
}
