package config_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/roomguard/roomguard/gateway/config"
)

func fmtAll(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }

// FuzzParse: no config, however broken, crashes the parser; every refusal is
// a config error that says where.
func FuzzParse(f *testing.F) {
	example, _ := os.ReadFile("../../examples/room.yaml")
	f.Add(example)
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
