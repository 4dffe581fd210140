package homeassistant_test

import (
	"crypto/ed25519"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/homeassistant"
	"github.com/roomguard/roomguard/gateway/wire"
)

// FuzzBridge: whatever arrives on Home Assistant's command topic is either
// an arm as the person whose code it is, or refused; never a panic, never
// anything but arm.
func FuzzBridge(f *testing.F) {
	for _, s := range []string{`{"action": "ARM_AWAY", "code": "246810"}`, `{"action": "DISARM", "code": "246810"}`, `{"action":1}`, `null`, ``, `{"code": "246810"}`} {
		f.Add([]byte(s))
	}
	_, key, _ := ed25519.GenerateKey(nil)
	line, _ := homeassistant.CodeLine("r", "p-1", "246810")
	codes, err := homeassistant.ReadCodes(strings.NewReader(line), "codes")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var executed []string
		refusals := 0
		b := &homeassistant.Bridge{Room: "r", Codes: codes,
			Signer: &wire.Signer{Principal: homeassistant.Principal, Key: key, Clock: clocktest.New(time.Unix(1_800_000_000, 0))},
			Execute: func(name string, _ []byte) wire.Reply {
				executed = append(executed, name)
				return wire.Reply{Status: "ok"}
			},
			Refused: func(_, _, code, _ string) error {
				refusals++
				if code == "" {
					t.Fatal("a refusal without a code")
				}
				return nil
			},
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		b.Handle("", payload)
		if len(executed)+refusals != 1 || len(executed) == 1 && executed[0] != "arm" {
			t.Fatalf("%q: executed %v, %d refusals", payload, executed, refusals)
		}
	})
}

// FuzzReadCodes: a codes file is read whole or refused with its line.
func FuzzReadCodes(f *testing.F) {
	f.Add("p-1 " + strings.Repeat("a", 64) + "\n# c\n")
	f.Add("p-1\n")
	f.Fuzz(func(t *testing.T, text string) {
		codes, err := homeassistant.ReadCodes(strings.NewReader(text), "codes")
		if err != nil && (codes != nil || !strings.HasPrefix(err.Error(), "codes")) {
			t.Fatalf("%v with %v", err, codes)
		}
		for _, c := range codes {
			if c.Person == "" || len(c.Hash) != 64 {
				t.Fatalf("%+v read", c)
			}
		}
	})
}
