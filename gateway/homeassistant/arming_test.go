package homeassistant_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/homeassistant"
	"github.com/roomguard/roomguard/gateway/wire"
)

type refusal struct{ principal, cmd, code string }

// Issue 32, item 1: Home Assistant's panel arms the room with a person's
// code, as that person, signed by the homeassistant principal, through
// the room's own command path; it never disarms or unseals, and a code
// nobody has is refused as the room refuses any command (so a burst of
// them raises the forgery alarm).
func TestBridgeArmsWithAPersonsCode(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	clock := clocktest.New(time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC))
	line, err := homeassistant.CodeLine("jiyao-301", "li.ming", "246810")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := homeassistant.CodeLine("jiyao-302", "zhao.lei", "135790") // another room's
	codes, err := homeassistant.ReadCodes(strings.NewReader("# people who may arm from Home Assistant\n"+line+"\n"+other+"\n"), "codes")
	if err != nil {
		t.Fatal(err)
	}
	var executed []string
	var refused []refusal
	b := &homeassistant.Bridge{Room: "jiyao-301", Codes: codes,
		Signer: &wire.Signer{Principal: homeassistant.Principal, Key: key, Clock: clock},
		Execute: func(name string, env []byte) wire.Reply {
			e, err := gateway.ParseEnvelope(env)
			if err != nil || e.Verify(key.Public().(ed25519.PublicKey), "jiyao-301", name) != nil || e.Principal != homeassistant.Principal {
				t.Fatalf("the envelope: %v %+v", err, e)
			}
			var cmd struct{ ID, By string }
			if err := json.Unmarshal(e.Cmd, &cmd); err != nil || cmd.ID == "" {
				t.Fatalf("the command %s: %v", e.Cmd, err)
			}
			executed = append(executed, name+" by "+cmd.By)
			return wire.Reply{ID: cmd.ID, Status: "ok"}
		},
		Refused: func(principal, cmd, code, detail string) error {
			refused = append(refused, refusal{principal, cmd, code})
			return nil
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	b.Handle("", []byte(`{"action": "ARM_AWAY", "code": "246810"}`))
	if len(executed) != 1 || executed[0] != "arm by li.ming" || len(refused) != 0 {
		t.Fatalf("arm: executed %v, refused %v", executed, refused)
	}
	for _, c := range []struct{ payload, cmd, code string }{
		{`{"action": "DISARM", "code": "246810"}`, "disarm", gateway.EFORBIDDEN},
		{`{"action": "ARM_VACATION", "code": "246810"}`, "arm_vacation", gateway.EFORBIDDEN},
		{`{"action": "ARM_AWAY", "code": "000000"}`, "arm", gateway.EUNAUTHENTICATED},
		{`{"action": "ARM_AWAY", "code": "135790"}`, "arm", gateway.EUNAUTHENTICATED}, // another room's code
		{`{"action": "ARM_AWAY", "code": ""}`, "arm", gateway.EUNAUTHENTICATED},
		{`ARM_AWAY`, "arm", gateway.EINVALID},
	} {
		refused = nil
		b.Handle("", []byte(c.payload))
		if len(refused) != 1 || refused[0] != (refusal{homeassistant.Principal, c.cmd, c.code}) {
			t.Errorf("%s: refused %v", c.payload, refused)
		}
	}
	if len(executed) != 1 {
		t.Fatalf("executed %v", executed)
	}
}

func TestCodes(t *testing.T) {
	for _, bad := range []string{"12345", "abcdef", "12 34 56", ""} {
		if _, err := homeassistant.CodeLine("r", "p", bad); err == nil {
			t.Errorf("code %q taken", bad)
		}
	}
	for _, bad := range []string{"li.ming", "li.ming xyz", "li.ming " + strings.Repeat("A", 64), "a b c"} {
		if _, err := homeassistant.ReadCodes(strings.NewReader("# c\n\n"+bad+"\n"), "codes"); err == nil || !strings.Contains(err.Error(), "codes:3") {
			t.Errorf("line %q: %v", bad, err)
		}
	}
	if a, b := homeassistant.CodeHash("r1", "p", "123456"), homeassistant.CodeHash("r2", "p", "123456"); a == b || len(a) != 64 {
		t.Error("a code's hash does not depend on the room")
	}
}

// With arming enabled, the panel offers arm away, asks a code and sends it
// to the room (REMOTE_CODE: the room checks it); nothing else.
func TestDiscoveryWithArming(t *testing.T) {
	r := room()
	r.Arm = true
	for _, m := range homeassistant.Discovery(r) {
		if !strings.Contains(m.Topic, "/alarm_control_panel/") {
			continue
		}
		var cfg map[string]any
		if err := json.Unmarshal(m.Payload, &cfg); err != nil {
			t.Fatal(err)
		}
		if f := cfg["supported_features"].([]any); len(f) != 1 || f[0] != "arm_away" || cfg["code_arm_required"] != true ||
			cfg["code"] != "REMOTE_CODE" || cfg["command_topic"] != homeassistant.CommandTopic("homeassistant", "jiyao-301") ||
			!bytes.Contains([]byte(cfg["command_template"].(string)), []byte("{{ code }}")) {
			t.Fatalf("the panel: %s", m.Payload)
		}
		return
	}
	t.Fatal("no panel")
}
