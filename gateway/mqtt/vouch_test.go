package mqtt_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/testenv"
	"github.com/roomguard/roomguard/gateway/wire"
)

// A retained state goes with a proof of the log's head, which a console
// anchors on like the head's: events published after a state that covers
// them need no signed head of their own (issue 29: a live event cost two
// signatures). The head still goes out when nothing sent covers them.
func TestStatesVouchForTheEvents(t *testing.T) {
	m := testenv.StartMosquitto(t)
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "log.db"), room, clock)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	session, err := mqtt.NewSession(mqtt.SessionOpts{Conn: wire.Conn{URL: m.URL(), ClientID: "vouch-gw"}, Room: room, Clock: clock,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Prover: &mqtt.Prover{Room: room, Key: key, Head: store.Head}})
	if err != nil {
		t.Fatal(err)
	}
	states := mqtt.NewRetained(session)

	var mu sync.Mutex
	got := map[string][]gateway.Proof{} // by topic kind: "head", "devices/door-main"
	c := paho.NewClient(paho.NewClientOptions().AddBroker(m.URL()).SetClientID("vouch-watcher"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(0)
	topics := wire.Topics{Room: room}
	for _, kind := range []string{"head", "devices/door-main"} {
		c.Subscribe(topics.Root()+"/"+kind, 1, func(_ paho.Client, msg paho.Message) {
			if len(msg.Payload()) == 0 {
				return
			}
			_, p, err := gateway.OpenProof(pub, room, kind, msg.Payload())
			if err != nil {
				t.Errorf("%s: %v", kind, err)
				return
			}
			mu.Lock()
			got[kind] = append(got[kind], p)
			mu.Unlock()
		}).WaitTimeout(5 * time.Second)
	}
	seen := func(kind string, n int) []gateway.Proof {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			ps := append([]gateway.Proof(nil), got[kind]...)
			mu.Unlock()
			if len(ps) >= n {
				return ps
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d %s messages, want %d", len(ps), kind, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { session.Run(ctx) })
	wg.Go(func() { states.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	if !session.WaitUp(ctx) {
		t.Fatal("no session")
	}

	// Event 1 sets the door's state: the state, about to be sent, vouches.
	if _, err := store.Append(gateway.Event{Type: "door.opened", Severity: gateway.SeverityInfo, Device: "door-main"}); err != nil {
		t.Fatal(err)
	}
	states.DeviceState(gateway.DeviceState{Device: "door-main", Kind: "door", State: "open", Active: true, Since: clock.Now(), Seq: 1})
	states.Vouch(1)
	if p := seen("devices/door-main", 1)[0]; p.Seq < 1 {
		t.Fatalf("the door's state vouches for seq %d, not the event 1 before it", p.Seq)
	}
	// Once the broker acknowledged the state, it covers event 1: no head
	// for it. (Before the acknowledgement a head may go: the state's
	// delivery to a subscriber can come before the acknowledgement.)
	for deadline := time.Now().Add(10 * time.Second); states.Proven() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the door's state never acknowledged")
		}
	}
	states.Vouch(1)

	// Event 2 sets no state: only a head can vouch for it.
	if _, err := store.Append(gateway.Event{Type: "auth.refused", Severity: gateway.SeverityWarning}); err != nil {
		t.Fatal(err)
	}
	states.Vouch(2)
	if p := seen("head", 1)[0]; p.Seq != 2 {
		t.Fatalf("the first head vouches for seq %d: a head was sent for an event a state covered", p.Seq)
	}

	// Event 3 sets the door's state again: the state vouches at once, and
	// the retained head follows it HeadAfter later (restore resumes after
	// the broker's head; a newcomer trusts up to it).
	if _, err := store.Append(gateway.Event{Type: "door.closed", Severity: gateway.SeverityInfo, Device: "door-main"}); err != nil {
		t.Fatal(err)
	}
	states.DeviceState(gateway.DeviceState{Device: "door-main", Kind: "door", State: "closed", Since: clock.Now(), Seq: 3})
	states.Vouch(3)
	if p := seen("devices/door-main", 2)[1]; p.Seq < 3 {
		t.Fatalf("the door's state vouches for seq %d", p.Seq)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(seen("head", 1)); n != 1 {
		t.Fatalf("%d heads before HeadAfter", n)
	}
	clock.Advance(mqtt.HeadAfter)
	if p := seen("head", 2)[1]; p.Seq != 3 {
		t.Fatalf("the head after the state vouches for seq %d, want 3", p.Seq)
	}
}
