package config_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway/config"
)

func fmtAll(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }

// FuzzParse: no config, however broken, crashes the parser; every refusal is
// a config error that says where.
//
// The seeds are small: the example config whole (8 KB) cost the fuzzer
// about 1 ms an execution in YAML and the schema (3–4 ms instrumented), and
// every new input it found was minimised byte by byte from 8 KB, so it ran
// a few hundred executions a second. Each top-level section of the example
// after the minimal config is a seed of its own instead; the example whole
// is checked by TestExampleConfigsCheck.
func FuzzParse(f *testing.F) {
	example, _ := os.ReadFile("../../examples/room.yaml")
	for _, section := range sections(string(example)) {
		f.Add([]byte(minimal + section))
	}
	f.Add([]byte(minimal))
	f.Add([]byte("room: &a {id: r1, name: *a}\n"))
	f.Add([]byte("inputs: [{id: x, kind: door, pin: 1, active: high, debounce: 1e400s}]"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, "fuzz.yaml")
		if err == nil && c.Room.ID == "" {
			t.Fatal("accepted a config without a room id")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

// sections splits a YAML document into its top-level keys' texts, comments
// dropped; the room, storage and inputs are the minimal config's.
func sections(doc string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '-' {
			flush()
			if key, _, _ := strings.Cut(line, ":"); key == "room" || key == "storage" || key == "inputs" {
				continue
			}
		} else if cur.Len() == 0 {
			continue // the rest of a section the minimal config has
		}
		cur.WriteString(line + "\n")
	}
	flush()
	return out
}
