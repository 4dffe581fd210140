package mqtt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/mqtt"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/testenv"
	"github.com/roomguard/roomguard/gateway/wire"
)

// attacker is anyone on the broker: it sees what the room publishes and
// publishes what it likes.
type attacker struct {
	t      *testing.T
	client paho.Client
	mu     sync.Mutex
	last   []byte            // the room's last event
	seen   map[string][]byte // the last payload of every topic
}

func newAttacker(t *testing.T, url, room string) *attacker {
	a := &attacker{t: t, seen: map[string][]byte{}}
	a.client = paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("attacker"))
	if tok := a.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("attacker: %v", tok.Error())
	}
	t.Cleanup(func() { a.client.Disconnect(100) })
	a.client.Subscribe("roomguard/"+room+"/#", 1, func(_ paho.Client, m paho.Message) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.seen[m.Topic()] = m.Payload()
		if strings.HasSuffix(m.Topic(), "/events") {
			var e, l gateway.Event
			json.Unmarshal(m.Payload(), &e)
			json.Unmarshal(a.last, &l)
			if e.Seq > l.Seq {
				a.last = m.Payload()
			}
		}
	}).WaitTimeout(5 * time.Second)
	return a
}

func (a *attacker) publish(topic string, retained bool, payload []byte) {
	a.t.Helper()
	if tok := a.client.Publish(topic, 1, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		a.t.Fatalf("attacker publish: %v", tok.Error())
	}
}

func (a *attacker) payload(topic string) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[topic]
}

// nextEvent forges the event after the last one seen, chained to it as the
// room would: its prev is right, anyone can compute it.
func (a *attacker) nextEvent(typ string) (gateway.Event, []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var last gateway.Event
	json.Unmarshal(a.last, &last)
	e := gateway.Event{Seq: last.Seq + 1, ID: "forged-" + typ, TS: time.Now(), ClockTrusted: true, Room: last.Room, Type: typ,
		Severity: gateway.SeverityCritical, Prev: gateway.ChainHash(a.last)}
	b, _ := json.Marshal(e)
	return e, b
}

// TestConsoleTrustsOnlyTheRoom (issue 18): with the room's key pinned, what
// anyone else on the broker says for the room is quarantined and raises
// room-forgery, and the room's own events, alarms and state stay shown.
func TestConsoleTrustsOnlyTheRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	const room = "jiyao-301"
	m := testenv.StartMosquitto(t)
	dir := t.TempDir()
	example, err := os.ReadFile("../../examples/room.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "room.yaml")
	// Without the example's call-down: its deliveries are events of their
	// own, logged when the modem answers, which would take the very seq
	// this test forges.
	conf := withoutSection(string(example), "notify") + fmt.Sprintf("\nmqtt: {url: %q, keepalive: 5s}\naccept_unsigned: true\n", m.URL())
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	att := newAttacker(t, m.URL(), room)
	testenv.StartGateway(t, "run", "--sim", "--config", cfg, "--db", filepath.Join(dir, "room.db"))
	topics := wire.Topics{Room: room}
	waitFor(t, "the room online", func() bool { return strings.Contains(string(att.payload(topics.Status())), `"online"`) })
	var st wire.Status
	json.Unmarshal(att.payload(topics.Status()), &st)

	clock := sysclock.New(sysclock.TrustAlways)
	store, err := sqlite.Open(filepath.Join(dir, "dashboard.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	watch(t, store, room)
	l, err := mqtt.Connect(mqtt.LinkOpts{Conn: wire.Conn{URL: m.URL()}, Store: store, Clock: clock, GapGrace: 200 * time.Millisecond, CatchUp: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); store.Close() })
	// Before an admin confirms the key the console only notes it.
	waitFor(t, "the room's key seen", func() bool {
		keys, _ := store.RoomKeys()
		return len(keys) == 1 && keys[0].Seen == st.Key && keys[0].Pinned == ""
	})
	if err := l.PinKey(room, st.Key, "admin"); err != nil {
		t.Fatal(err)
	}
	sim := func(device, state string) { att.publish(topics.SimInput(device), false, []byte(state)) }
	held := func(seq uint64) gateway.Event {
		var e gateway.Event
		recs, _ := store.Events(sqlite.EventFilter{Room: room})
		for _, r := range recs {
			if r.Seq == seq {
				e = r.Event
			}
		}
		return e
	}
	retained := func(kind, key string) []byte {
		p, _ := store.RetainedPayload(room, kind, key)
		return p
	}
	forgeries := func() int {
		var a struct{ Count int }
		json.Unmarshal(retained("alarms", dashboard.ForgeryAlarm), &a)
		return a.Count
	}
	sim("door-main", "open")
	waitFor(t, "the door open, vouched for", func() bool {
		r, _ := store.Room(room)
		return strings.Contains(string(retained("devices", "door-main")), `"open"`) && r.Verified > 0 && r.Verified == r.High
	})

	// 1. A forged event at the next seq, chained right: quarantined once the
	// room's own event of that seq comes; the room's is held.
	forged, b := att.nextEvent("intrusion")
	att.publish(topics.Events(), false, b)
	time.Sleep(300 * time.Millisecond)
	if e := held(forged.Seq); e.ID != "" {
		t.Fatalf("a forged event was stored before the room vouched for it: %+v", e)
	}
	sim("door-main", "closed")
	waitFor(t, "the room's event at the forged seq", func() bool { return held(forged.Seq).Type == "door.closed" })
	waitFor(t, "room-forgery raised", func() bool { return forgeries() == 1 })
	// A forged event far ahead moves nothing: it waits for the room's word
	// (and goes to quarantine when it never comes: the witness's test).
	far, b := att.nextEvent("intrusion")
	far.Seq, far.ID = 9_000_000_000_000_000_000, "forged-far"
	b, _ = json.Marshal(far)
	att.publish(topics.Events(), false, b)

	// 2. A forged retained P1 alarm: never shown.
	att.publish(topics.Alarm("fake-intrusion"), true, []byte(`{"room":"jiyao-301","id":"fake-intrusion","class":"intrusion","priority":1,"state":"active"}`))
	waitFor(t, "the forged alarm quarantined", func() bool { return forgeries() == 2 })
	if retained("alarms", "fake-intrusion") != nil {
		t.Fatal("a forged alarm is shown")
	}

	// 3. A real tamper alarm erased by an empty retained payload: still shown.
	sim("tamper-loop", "tamper")
	var tamper string
	waitFor(t, "a real tamper alarm", func() bool {
		alarms, _ := store.Retained(room, "alarms")
		for _, a := range alarms {
			if strings.Contains(string(a.Payload), `"tamper"`) {
				tamper = a.Key
			}
		}
		return tamper != ""
	})
	firstTamper := att.payload(topics.Alarm(tamper)) // the room's own signed "active"
	att.publish(topics.Alarm(tamper), true, nil)
	// 4. A forged status (the room offline) and a replayed device state (the
	// door as it was, signed by the room, but older).
	att.publish(topics.Status(), true, []byte(`{"state":"offline","room":"jiyao-301","reason":"connection lost"}`))
	oldDoor := att.payload(topics.Device("door-main")) // closed
	sim("door-main", "open")
	waitFor(t, "the door open again", func() bool { return strings.Contains(string(retained("devices", "door-main")), `"open"`) })
	t.Logf("replaying %s over %s", oldDoor, retained("devices", "door-main"))
	att.publish(topics.Device("door-main"), false, oldDoor)
	waitFor(t, "the forged status and the replay quarantined", func() bool { return forgeries() == 4 })
	if retained("alarms", tamper) == nil || !strings.Contains(string(retained("status", "")), `"online"`) ||
		!strings.Contains(string(retained("devices", "door-main")), `"open"`) {
		t.Fatalf("the room's state was displaced: alarm %s, status %s, door %s", retained("alarms", tamper), retained("status", ""), retained("devices", "door-main"))
	}

	// 5. A forged reply that beats the room's: the console waits for the
	// room's, which refuses the ack of an alarm it does not have.
	att.client.Subscribe(topics.Root()+"/cmd/ack", 1, func(c paho.Client, msg paho.Message) {
		var env struct {
			Cmd json.RawMessage `json:"cmd"`
			ID  string          `json:"id"`
		}
		json.Unmarshal(msg.Payload(), &env)
		c.Publish(topics.Reply(env.ID), 1, false, fmt.Appendf(nil, `{"id":%q,"cmd":"ack","status":"ok"}`, env.ID))
	}).WaitTimeout(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := l.Call(ctx, room, "ack", map[string]any{"by": "p001", "alarm": "no-such-alarm", "comment": "x"}); err == nil || !strings.Contains(err.Error(), "no-such-alarm") {
		t.Fatalf("the ack of an unknown alarm: %v", err)
	}
	waitFor(t, "the forged reply quarantined", func() bool { return forgeries() == 5 })

	if r, _ := store.Room(room); r.High > 1000 || held(far.Seq).ID != "" {
		t.Fatalf("a forged event far ahead moved the replica: high %d", r.High)
	}
	q, err := store.QuarantineOf(room, 100)
	if err != nil || len(q) != 5 {
		t.Fatalf("quarantine: %v %+v", err, q)
	}
	for _, x := range q {
		t.Logf("quarantined %s seq %d: %s", x.Topic, x.Seq, x.Reason)
	}
	if r, _ := store.Room(room); r.Verified < forged.Seq || r.VerifiedAt.IsZero() {
		t.Fatalf("chain status: verified through %d at %v", r.Verified, r.VerifiedAt)
	}

	// 6. Issue 27, finding 5: the tamper alarm put right and closed; its
	// first signed "active" state, the room's own, sent again: older than
	// the alarm.closed in the chain, it is a replay, never shown again.
	att.client.Unsubscribe(topics.Root() + "/cmd/ack").WaitTimeout(5 * time.Second)
	sim("tamper-loop", "normal")
	waitFor(t, "the tamper alarm restored", func() bool { return strings.Contains(string(retained("alarms", tamper)), `"restored"`) })
	if _, err := l.Call(ctx, room, "ack", map[string]any{"by": "p001", "alarm": tamper, "comment": "查明：线路松动"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tamper alarm closed", func() bool { return retained("alarms", tamper) == nil })
	if !strings.Contains(string(firstTamper), `"active"`) {
		t.Fatalf("the first tamper state: %s", firstTamper)
	}
	att.publish(topics.Alarm(tamper), true, firstTamper)
	waitFor(t, "the closed alarm's old state quarantined", func() bool {
		q, _ := store.QuarantineOf(room, 100)
		for _, x := range q {
			if x.Topic == "alarms/"+tamper {
				t.Logf("quarantined %s seq %d: %s", x.Topic, x.Seq, x.Reason)
				return true
			}
		}
		return retained("alarms", tamper) != nil
	})
	if p := retained("alarms", tamper); p != nil {
		t.Fatalf("a closed alarm is shown again: %s", p)
	}
}

// withoutSection is a YAML document without its top-level key's block.
func withoutSection(doc, key string) string {
	var out []string
	skip := false
	for _, l := range strings.Split(doc, "\n") {
		if l != "" && l[0] != ' ' && l[0] != '#' && l[0] != '-' {
			skip = strings.HasPrefix(l, key+":")
		}
		if !skip {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
