package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway/homeassistant"
)

// Every example config is good, whether it runs its own broker or joins
// another's (check-config once crashed on the latter).
func TestExampleConfigsCheck(t *testing.T) {
	files, _ := filepath.Glob("../../../examples/*.yaml")
	if len(files) < 2 {
		t.Fatalf("examples: %v", files)
	}
	for _, f := range files {
		var out bytes.Buffer
		if err := Main(t.Context(), []string{"check-config", "--config", f}, &out, io.Discard); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if !strings.Contains(out.String(), "room ") || !strings.Contains(out.String(), "broker") {
			t.Errorf("%s: %q", f, out.String())
		}
	}
}

// Issue 21, item 4: the command line's conventions, walked over every
// command: -h and --help print help and exit 0; check-config takes its
// file as the argument; the exit codes are 2 for bad usage or config, 1 for
// a failure while running, 3 for a refusal; a missing data directory is
// made.
func TestCommandLineConventions(t *testing.T) {
	commands := [][]string{{"run"}, {"life"}, {"building"}, {"check-config"}, {"events", "tail"}, {"events", "query"}, {"seal", "list"},
		{"seal", "report"}, {"entries", "query"}, {"personnel", "check"}, {"personnel", "import"}, {"personnel", "export"},
		{"visitor", "register"}, {"visitor", "checkout"}, {"visitor", "list"}, {"carrier", "check"}, {"carrier", "import"},
		{"carrier", "export"}, {"carrier", "list"}, {"carrier", "signout"}, {"carrier", "return"}, {"carrier", "extend"},
		{"safe", "release"}, {"inventory", "run"}, {"inventory", "list"}, {"inventory", "show"}, {"cmd"}, {"arm"}, {"disarm"},
		{"seal"}, {"unseal"}, {"ack"}, {"keys"}, {"ha-code"}, {"log", "verify"}, {"backup"}, {"restore"}, {"man"},
		{"events"}, {"personnel"}, {"visitor"}, {"carrier"}, {"inventory"}, {"log"}, {"safe"}, {"entries"}}
	listed := map[string]bool{"version": true}
	for _, c := range commands {
		listed[c[0]] = true
		for _, help := range []string{"-h", "--help"} {
			var out, errOut bytes.Buffer
			err := Main(t.Context(), append(append([]string{}, c...), help), &out, &errOut)
			if exitCode(err) != 0 || out.Len()+errOut.Len() == 0 {
				t.Errorf("%v %s: exit %d (%v), %d bytes of help", c, help, exitCode(err), err, out.Len()+errOut.Len())
			}
		}
	}
	// every command the usage lists is walked
	for _, line := range strings.Split(usage, "\n") {
		if f := strings.Fields(line); strings.HasPrefix(line, "  ") && len(f) > 1 && !listed[strings.TrimSuffix(f[0], ",")] {
			t.Errorf("the usage lists %q: not walked", f[0])
		}
	}
	for _, v := range [][]string{{"--version"}, {"version"}} {
		var out bytes.Buffer
		if err := Main(t.Context(), v, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "roomguard-gateway ") {
			t.Errorf("%v: %v %q", v, err, out.String())
		}
	}

	dir := t.TempDir()
	good := filepath.Join(dir, "room.yaml")
	example, _ := os.ReadFile("../../../examples/room.yaml")
	data := filepath.Join(dir, "not", "yet")
	os.WriteFile(good, []byte(strings.Replace(string(example), "/var/lib/roomguard", data, 1)), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("room: {id: x}\n"), 0o600)
	var out bytes.Buffer
	if err := Main(t.Context(), []string{"check-config", good}, &out, io.Discard); err != nil || !strings.Contains(out.String(), good+": room jiyao-301") {
		t.Fatalf("check-config FILE: %v %q", err, out.String())
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"check-config", bad}, 2},
		{[]string{"check-config", filepath.Join(dir, "missing.yaml")}, 2},
		{[]string{"check-config", "--config", good, bad}, 2},
		{[]string{"check-config", "--no-such-flag"}, 2},
		{[]string{"no-such-command"}, 2},
		{[]string{"events"}, 2},
		{[]string{"log", "verify", "--db", filepath.Join(dir, "none.db")}, 1},
	} {
		err := Main(t.Context(), c.args, io.Discard, io.Discard)
		if exitCode(err) != c.code {
			t.Errorf("%v: exit %d (%v), want %d", c.args, exitCode(err), err, c.code)
		}
	}
	// The data directory is made at the first use, with mode 0750.
	if err := Main(t.Context(), []string{"keys", "--config", good}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(data); err != nil || st.Mode().Perm() != 0o750 {
		t.Fatalf("the data directory: %v %v", st, err)
	}
}

// ha-code prints a person's line for Home Assistant's codes file from the
// code on stdin; a short or non-digit code, or no room, is bad usage.
func TestHACode(t *testing.T) {
	var out bytes.Buffer
	if err := haCodeCmd([]string{"--room", "jiyao-301", "li.ming"}, strings.NewReader("246810\n"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := "li.ming " + homeassistant.CodeHash("jiyao-301", "li.ming", "246810") + "\n"; out.String() != want {
		t.Fatalf("%q, want %q", out.String(), want)
	}
	for _, c := range []struct {
		args []string
		code string
	}{{[]string{"--room", "jiyao-301", "li.ming"}, "1234\n"}, {[]string{"li.ming"}, "246810\n"}, {[]string{"--room", "r"}, "246810\n"}} {
		if err := haCodeCmd(c.args, strings.NewReader(c.code), io.Discard, io.Discard); exitCode(err) != 2 {
			t.Errorf("%v %q: exit %d (%v)", c.args, c.code, exitCode(err), err)
		}
	}
}
