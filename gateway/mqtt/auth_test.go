package mqtt_test

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/mqtt"
	gwroom "github.com/roomguard/roomguard/gateway/room"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/wire"
)

// keyOf is a fixed key for a test principal.
func keyOf(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

// signedRig is a room that believes console-1 (arm, disarm, ack) and
// integration-1 (ack only), and logs what it refuses.
func signedRig(t *testing.T) (*mqtt.Commands, *gwroom.Room, *sqlite.Store, *clocktest.Clock, *mqtt.Auth) {
	var auth *mqtt.Auth
	cmds, r, store, clock := commandRigWith(t, false, func(r *gwroom.Room, store *sqlite.Store, clock *clocktest.Clock) *mqtt.Auth {
		auth = &mqtt.Auth{Room: room, Clock: clock, Nonces: store, Refused: r.Refused, Principals: testPrincipals()}
		return auth
	})
	return cmds, r, store, clock, auth
}

func testPrincipals() map[string]gateway.Principal {
	return map[string]gateway.Principal{
		"console-1":     {Name: "console-1", Key: keyOf(1).Public().(ed25519.PublicKey), Commands: []string{"arm", "disarm", "ack"}},
		"integration-1": {Name: "integration-1", Key: keyOf(2).Public().(ed25519.PublicKey), Commands: []string{"ack"}},
	}
}

func sign(t *testing.T, key ed25519.PrivateKey, principal, toRoom, name, cmd string, at time.Time, counter uint64) []byte {
	t.Helper()
	b, err := gateway.SignCommand(key, principal, toRoom, name, []byte(cmd), at, counter)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Issue 17, items 2 and 3, and its bad input: only a command signed by a
// principal of the room, for this room and this command, that the principal
// may send, fresh and never seen before, is carried out; every other gets
// its own code, changes nothing, and is logged as auth.refused; the fifth
// refusal within a minute raises a command-forgery alarm.
func TestOnlySignedFreshCommandsAreBelieved(t *testing.T) {
	cmds, r, store, clock, _ := signedRig(t)
	now := clock.Now()
	arm := `{"id":"a1","by":"li.ming"}`
	good := sign(t, keyOf(1), "console-1", room, "arm", arm, now, 1)
	// a copy with the command changed on the way
	var tampered map[string]any
	json.Unmarshal(good, &tampered)
	tampered["cmd"] = "eyJpZCI6ImEyIiwiYnkiOiJhdHRhY2tlciJ9" // {"id":"a2","by":"attacker"}
	forged, _ := json.Marshal(tampered)
	cases := []struct {
		name, cmd string
		payload   []byte
		code      string
		contains  string
	}{
		{"unsigned", "disarm", []byte(`{"id":"u1","by":"attacker"}`), gateway.EUNAUTHENTICATED, "not signed"},
		{"unknown principal", "arm", sign(t, keyOf(9), "attacker", room, "arm", arm, now, 1), gateway.EUNAUTHENTICATED, `"attacker" is not a principal`},
		{"another's key", "arm", sign(t, keyOf(9), "console-1", room, "arm", arm, now, 1), gateway.EUNAUTHENTICATED, "does not verify"},
		{"for another room", "arm", sign(t, keyOf(1), "console-1", "jiyao-999", "arm", arm, now, 1), gateway.EUNAUTHENTICATED, "does not verify"},
		{"for another command", "disarm", sign(t, keyOf(1), "console-1", room, "arm", arm, now, 1), gateway.EUNAUTHENTICATED, "does not verify"},
		{"changed on the way", "arm", forged, gateway.EUNAUTHENTICATED, "does not verify"},
		{"not its command", "arm", sign(t, keyOf(2), "integration-1", room, "arm", arm, now, 1), gateway.EFORBIDDEN, `"integration-1" may not send it`},
		{"stale", "arm", sign(t, keyOf(1), "console-1", room, "arm", arm, now.Add(-61*time.Second), 1), gateway.ESTALE, "more than 1m0s"},
		{"from the future", "arm", sign(t, keyOf(1), "console-1", room, "arm", arm, now.Add(time.Minute), 1), gateway.ESTALE, "in the future"},
		{"not an envelope", "arm", []byte(`{"v":1,"principal":"console-1"}`), gateway.EUNAUTHENTICATED, "envelope"},
	}
	before, _ := store.LastSeq()
	for _, c := range cases {
		rep := cmds.Execute(c.cmd, c.payload)
		if rep.Status != "error" || rep.Error.Code != c.code || !strings.Contains(rep.Error.Message, c.contains) {
			t.Errorf("%s: %+v", c.name, rep.Error)
		}
	}
	if r.Mode() != gateway.ModeOpen {
		t.Fatalf("a refused command changed the room: %s", r.Mode())
	}
	refused, alarms := 0, 0
	evs, err := store.Pending(before, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		var ev gateway.Event
		json.Unmarshal(e.Payload, &ev)
		switch {
		case ev.Type == "auth.refused":
			refused++
		case ev.Type == "alarm.raised" && strings.Contains(string(ev.Data), `"command-forgery"`):
			alarms++
		}
	}
	// Each principal's first 5 a minute are logged one by one (console-1
	// sent 6: its sixth waits for the minute's summary, issue 27).
	if refused != len(cases)-1 || alarms != 1 {
		t.Fatalf("%d auth.refused events and %d command-forgery alarms raised, want %d and 1 (at the 5th)", refused, alarms, len(cases)-1)
	}

	// The good one is carried out once; the same bytes again are replayed.
	if rep := cmds.Execute("arm", good); rep.Status != "ok" || rep.ID != "a1" {
		t.Fatalf("signed arm: %+v", rep)
	}
	if rep := cmds.Execute("arm", good); rep.Status != "error" || rep.Error.Code != gateway.EREPLAYED {
		t.Fatalf("the same arm again: %+v", rep)
	}
	// After a restart the room still knows it: from the log, or because it
	// was signed before the start.
	for _, started := range []time.Time{now, now.Add(time.Second)} {
		again := &mqtt.Auth{Room: room, Clock: clock, Nonces: store, Started: started, Principals: testPrincipals()}
		if err := again.Load(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := again.Open("arm", good); gateway.ErrorCode(err) != gateway.EREPLAYED && gateway.ErrorCode(err) != gateway.ESTALE {
			t.Fatalf("the same arm after a restart at %s: %v", started, err)
		} else if started.Equal(now) && gateway.ErrorCode(err) != gateway.EREPLAYED {
			t.Fatalf("the log forgot the nonce: %v", err)
		}
	}
	// With the clock not trusted, time proves nothing: the counter must rise.
	clock.SetTrusted(false)
	disarm := `{"id":"d1","by":"li.ming"}`
	if rep := cmds.Execute("disarm", sign(t, keyOf(1), "console-1", room, "disarm", disarm, now.Add(-time.Hour), 1)); rep.Status != "error" || rep.Error.Code != gateway.EREPLAYED {
		t.Fatalf("a counter not above the last with an untrusted clock: %+v", rep)
	}
	if rep := cmds.Execute("disarm", sign(t, keyOf(1), "console-1", room, "disarm", disarm, now.Add(-time.Hour), 2)); rep.Status != "ok" {
		t.Fatalf("a rising counter with an untrusted clock: %+v", rep)
	}
}

// BenchmarkCommandVerify: what believing a command costs (issue 17: at most
// 1 ms), signed next to unsigned in the same run. Signed is the envelope's
// parse, the Ed25519 check and the nonce's durable write; unsigned is the
// probe that finds no envelope.
func BenchmarkCommandVerify(b *testing.B) {
	arm := []byte(`{"id":"a1","by":"li.ming"}`)
	b.Run("unsigned", func(b *testing.B) {
		a := &mqtt.Auth{Unsigned: true}
		for b.Loop() {
			if _, _, err := a.Open("arm", arm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("signed", func(b *testing.B) {
		_, r, store, clock := commandRigWith(b, false, func(*gwroom.Room, *sqlite.Store, *clocktest.Clock) *mqtt.Auth { return nil })
		a := &mqtt.Auth{Room: room, Clock: clock, Nonces: store, Refused: r.Refused, Principals: map[string]gateway.Principal{
			"console-1": {Name: "console-1", Key: keyOf(1).Public().(ed25519.PublicKey), Commands: []string{"*"}}}}
		s := &wire.Signer{Principal: "console-1", Key: keyOf(1), Clock: clock}
		envs := make([][]byte, 0, 4096)
		for b.Loop() {
			if len(envs) == 0 {
				b.StopTimer()
				for range cap(envs) {
					e, err := s.Sign(room, "arm", arm)
					if err != nil {
						b.Fatal(err)
					}
					envs = append(envs, e)
				}
				b.StartTimer()
			}
			if _, _, err := a.Open("arm", envs[len(envs)-1]); err != nil {
				b.Fatal(err)
			}
			envs = envs[:len(envs)-1]
		}
	})
}

// Issue 27, finding 4: a command carried out with the clock trusted is
// remembered durably before its reply, so a gateway killed right after it
// and started again with the clock not trusted (where only the counter
// decides) refuses it replayed.
func TestCommandNotReplayedAfterACrashWithTheClockUntrusted(t *testing.T) {
	cmds, r, store, clock, _ := signedRig(t)
	env := sign(t, keyOf(1), "console-1", room, "arm", `{"id":"a1","by":"li.ming"}`, clock.Now(), 7)
	if rep := cmds.Execute("arm", env); rep.Status != "ok" {
		t.Fatalf("arm: %+v", rep)
	}
	_ = r
	// Killed now: nothing written behind gets written. Started again with
	// the clock not trusted.
	clock.SetTrusted(false)
	again := &mqtt.Auth{Room: room, Clock: clock, Nonces: store, Started: clock.Now(), Principals: testPrincipals()}
	if err := again.Load(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := again.Open("arm", env); gateway.ErrorCode(err) != gateway.EREPLAYED {
		t.Fatalf("the arm replayed after a crash with the clock untrusted: %v", err)
	}
}

// Issue 27, finding 6: a restore puts back the backup's counters, older
// than those of the commands carried out after it; it sets a floor, the
// restore's time, so a command signed before the restore and sent again
// while the clock is not trusted is refused replayed, and one signed after
// it is taken.
func TestRestoreRaisesEveryCounter(t *testing.T) {
	_, _, store, clock, _ := signedRig(t)
	last, _ := store.LastSeq()
	before := clock.Now()
	clock.Advance(time.Hour) // the card failed; the room is restored an hour on
	store.SignCheckpointsWith(keyOf(7))
	if err := store.Restored("backup-1", last); err != nil {
		t.Fatal(err)
	}
	clock.SetTrusted(false)
	a := &mqtt.Auth{Room: room, Clock: clock, Nonces: store, Started: clock.Now(), Principals: testPrincipals()}
	if err := a.Load(); err != nil {
		t.Fatal(err)
	}
	arm := `{"id":"a1","by":"li.ming"}`
	old := sign(t, keyOf(1), "console-1", room, "arm", arm, before, uint64(before.Add(time.Minute).UnixMilli()))
	if _, _, err := a.Open("arm", old); gateway.ErrorCode(err) != gateway.EREPLAYED {
		t.Fatalf("a command signed before the restore: %v", err)
	}
	fresh := sign(t, keyOf(1), "console-1", room, "arm", arm, clock.Now(), uint64(clock.Now().UnixMilli()+1))
	if _, _, err := a.Open("arm", fresh); err != nil {
		t.Fatalf("a command signed after the restore: %v", err)
	}
}
