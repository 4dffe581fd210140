package mqtt

import (
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/schemas"
)

// Every payload a console sends its peers is what schemas/console-*.json
// say, and its signature opens with the console's key under its name only.
func TestPeerPayloadsMatchTheirSchemas(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	at := time.Date(2026, 12, 7, 19, 41, 10, 500_000_000, time.UTC)
	check := func(schema string, payload []byte) {
		t.Helper()
		if err := schemas.ValidateJSON(schema, payload); err != nil {
			t.Errorf("%s: %v\n%s", schema, err, payload)
		}
	}
	check("console-status", statusPayload(peerStatus{State: "online", Since: at, Journal: 12}))
	check("console-status", statusPayload(peerStatus{State: "offline"}))
	check("console-want", wantPayload(13))
	bodies := map[string]any{
		dashboard.JournalAudit: dashboard.JournalAuditBody{At: at, User: "wang.fang", Action: "alarm.ack", Room: "jiyao-301", Target: "a-1", Result: "ok", Remote: "10.0.0.5"},
		dashboard.JournalHandover: dashboard.JournalHandoverBody{N: 3, Outgoing: "wang.fang", OutAt: at, Notes: "平安",
			Alarms: []dashboard.HandedAlarm{{Room: "jiyao-301", ID: "a-1", Class: "door-forced", Priority: 2, RaisedAt: at}}},
		dashboard.JournalTakeover: dashboard.JournalTakeoverBody{Console: "console-1", N: 3, Incoming: "li.si", InAt: at},
	}
	seq := uint64(0)
	for kind, body := range bodies {
		seq++
		b, _ := json.Marshal(body)
		p, err := journalPayload(key, "console-1", dashboard.JournalEntry{Seq: seq, At: at, Kind: kind, Body: b}, 3)
		if err != nil {
			t.Fatal(err)
		}
		check("console-journal", p)
		if _, _, err := gateway.OpenProof(key.Public().(ed25519.PublicKey), signer("console-1"), "journal", p); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
		if _, _, err := gateway.OpenProof(key.Public().(ed25519.PublicKey), signer("console-2"), "journal", p); err == nil {
			t.Errorf("%s opens as console-2's", kind)
		}
	}
	u := dashboard.User{Name: "wang.fang", Display: "王芳", Role: dashboard.RoleGuard, Hash: dashboard.HashPassword("console-pass-1", dashboard.Argon2Params{Time: 1, MemKiB: 64, Threads: 1}),
		Created: at, CreatedBy: "admin", Rev: 2}
	p, err := accountPayload(key, "console-1", u.Record())
	if err != nil {
		t.Fatal(err)
	}
	check("console-account", p)
	if _, proof, err := gateway.OpenProof(key.Public().(ed25519.PublicKey), signer("console-1"), "accounts/wang.fang", p); err != nil || proof.Seq != 2 {
		t.Errorf("the account's proof: %+v, %v", proof, err)
	}
}

// FuzzPeerMessage: whatever comes on the consoles' topics, from a peer or
// not, never crashes the console, and nothing another key signed is taken
// in: neither a journal entry nor an account (the peer's real key is not
// the fuzzer's).
func FuzzPeerMessage(f *testing.F) {
	_, real, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	at := time.Date(2026, 12, 7, 19, 41, 10, 0, time.UTC)
	audit, _ := json.Marshal(dashboard.JournalAuditBody{At: at, User: "mallory", Action: "user.create", Result: "ok"})
	forged, _ := journalPayload(other, "console-2", dashboard.JournalEntry{Seq: 1, At: at, Kind: dashboard.JournalAudit, Body: audit}, 1)
	acct, _ := accountPayload(other, "console-2", dashboard.AccountRecord{Name: "mallory", Display: "m", Role: dashboard.RoleAdmin, Hash: "$argon2id$x", Created: at, CreatedBy: "x", Rev: 9})
	f.Add("console-2/journal", forged)
	f.Add("console-2/accounts/mallory", acct)
	f.Add("console-2/status", statusPayload(peerStatus{State: "online", Journal: 5}))
	f.Add("console-1/want/console-2", wantPayload(1))
	f.Add("console-3/journal", forged)
	f.Add("console-2/journal", []byte(`{"seq":1,"proof":{"seq":1,"head":"`+gateway.ChainHash(nil)+`","sig":""}}`))
	clock := sysclock.New(sysclock.TrustAlways)
	store, err := sqlite.Open(filepath.Join(f.TempDir(), "dashboard.db"), clock)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	p, err := NewPeers(PeerOpts{Self: "console-1", Key: real, Peers: map[string]ed25519.PublicKey{"console-2": real.Public().(ed25519.PublicKey)},
		AccountsFrom: "console-2", Store: store, Clock: clock, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	p.client = paho.NewClient(paho.NewClientOptions()) // never connected: what it would send goes nowhere
	f.Fuzz(func(t *testing.T, rest string, payload []byte) {
		p.handle(PeerRoot+"/"+rest, payload)
		if n, err := store.PeerApplied("console-2"); err != nil || n != 0 {
			t.Fatalf("taken in: %d, %v", n, err)
		}
		if users, err := store.Users(); err != nil || len(users) != 0 {
			t.Fatalf("accounts: %+v, %v", users, err)
		}
	})
}
