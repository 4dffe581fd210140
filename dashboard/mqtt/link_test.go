package mqtt_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/testenv"
	"github.com/roomguard/roomguard/gateway/wire"
	"github.com/roomguard/roomguard/schemas"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// fakeRoom plays a gateway on the broker: its retained status, its events
// (published as a test decides: some lost, some twice, some out of order)
// and events/resend from its log, of which the first `pruned` are gone.
type fakeRoom struct {
	t       *testing.T
	id      string
	client  paho.Client
	log     [][]byte // log[i] is seq i+1
	pruned  int
	deleted map[uint64]bool // seqs gone from the room's log after its oldest: tampered
	logged  int             // how much of log the room has logged so far (it re-sends no further)

	mu      sync.Mutex
	resends int
	asked   []string // "from-to" of every request
	// before, when set, is called with each request before it is answered;
	// its answer says whether to publish the re-sent events (false: they
	// are lost on the way).
	before func(from, to uint64) bool
}

func newFakeRoom(t *testing.T, url, id string, n int) *fakeRoom {
	r := &fakeRoom{t: t, id: id}
	for i := 1; i <= n; i++ {
		e := gateway.Event{Seq: uint64(i), ID: fmt.Sprintf("%s-%d", id, i), TS: t0.Add(time.Duration(i) * time.Second),
			ClockTrusted: true, Room: id, Type: "door.opened", Severity: gateway.SeverityInfo, Device: "door-main"}
		if i%2 == 0 {
			e.Type, e.Person = "access.granted", "p-zhang"
			e.Data = json.RawMessage(`{"reader":"reader-in","card":"******0001","person_name":"张伟","result":"granted"}`)
		}
		p, _ := json.Marshal(e)
		r.log = append(r.log, p)
	}
	topics := wire.Topics{Room: id}
	will, _ := json.Marshal(wire.Status{State: "offline", Room: id})
	po := paho.NewClientOptions().AddBroker(url).SetClientID("fake-"+id).SetBinaryWill(topics.Status(), will, 1, true)
	r.client = paho.NewClient(po)
	if tok := r.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("fake room connect: %v", tok.Error())
	}
	t.Cleanup(func() { r.client.Disconnect(100) })
	r.client.Subscribe(topics.Root()+"/cmd/events/resend", 1, func(c paho.Client, m paho.Message) {
		if err := schemas.ValidateJSON("cmd-events-resend", m.Payload()); err != nil {
			t.Errorf("events/resend: %v", err)
			return
		}
		var cmd struct {
			ID, Requester string
			From, To      uint64
		}
		json.Unmarshal(m.Payload(), &cmd)
		r.mu.Lock()
		r.resends++
		r.asked = append(r.asked, fmt.Sprintf("%d-%d", cmd.From, cmd.To))
		last := uint64(r.logged)
		before := r.before
		r.mu.Unlock()
		deliver := before == nil || before(cmd.From, cmd.To)
		reply := wire.Reply{ID: cmd.ID, Cmd: "events/resend", Status: "ok", Result: map[string]any{"from": cmd.From, "to": min(cmd.To, last), "count": 0, "oldest": r.pruned + 1}}
		if cmd.From > last {
			reply.Status, reply.Error = "error", &wire.ReplyError{Code: gateway.ENOTFOUND, Message: fmt.Sprintf("events/resend: the log ends at seq %d", last)}
		} else {
			n := 0
			for q := max(cmd.From, uint64(r.pruned)+1); q <= min(cmd.To, last); q++ {
				if r.deleted[q] {
					continue
				}
				if n == 0 {
					reply.Result["first"] = q
				}
				if deliver {
					c.Publish(topics.Resend(cmd.Requester), 1, false, r.log[q-1])
				}
				n++
			}
			reply.Result["count"] = n
		}
		p, _ := json.Marshal(reply)
		c.Publish(topics.Reply(cmd.ID), 1, false, p)
	}).WaitTimeout(5 * time.Second)
	st, _ := json.Marshal(wire.Status{State: "online", Room: id, Name: "机要室 " + id})
	r.client.Publish(topics.Status(), 1, true, st).WaitTimeout(5 * time.Second)
	return r
}

func (r *fakeRoom) publish(seqs ...int) {
	for _, q := range seqs {
		r.mu.Lock()
		r.logged = max(r.logged, q)
		r.mu.Unlock()
		r.client.Publish(wire.Topics{Room: r.id}.Events(), 1, false, r.log[q-1]).WaitTimeout(5 * time.Second)
	}
}

// watch adds rooms to the console, as an admin would (issue 27: it shows
// no other).
func watch(t testing.TB, store *sqlite.Store, rooms ...string) {
	t.Helper()
	for _, r := range rooms {
		if err := store.AddRoom(r, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
}

func startLink(t *testing.T, url string) (*mqtt.Link, *sqlite.Store) {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "dashboard.db"), sysclock.New(sysclock.TrustAlways))
	if err != nil {
		t.Fatal(err)
	}
	watch(t, store, "jiyao-301", "jiyao-302", "jiyao-303", "jiyao-304", "r-off")
	l, err := mqtt.Connect(mqtt.LinkOpts{Conn: wire.Conn{URL: url}, Store: store, Clock: sysclock.New(sysclock.TrustAlways),
		GapGrace: 200 * time.Millisecond, CatchUp: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); store.Close() })
	return l, store
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func contents(t *testing.T, s *sqlite.Store) string {
	var b strings.Builder
	if err := s.Stream(func(room string, seq uint64, id string, p []byte) error {
		fmt.Fprintf(&b, "%s %d %s %s\n", room, seq, id, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestReplicaOverTheBroker: a room publishes its events with some lost, some
// twice and some out of order; the dashboard notices the gaps, asks the room
// to re-send, and ends with every event once, exactly as logged.
func TestReplicaOverTheBroker(t *testing.T) {
	broker := testenv.StartMosquitto(t)
	link, store := startLink(t, broker.URL())
	waitFor(t, "the link", link.Connected)
	room := newFakeRoom(t, broker.URL(), "jiyao-301", 400)
	waitFor(t, "the room's status", func() bool { r, ok := store.Room("jiyao-301"); return ok && r.Name != "" })

	rng := rand.New(rand.NewPCG(3, 4))
	var order []int
	for q := 1; q <= 400; q++ {
		switch rng.IntN(8) {
		case 0: // lost
		case 1:
			order = append(order, q, q)
		default:
			order = append(order, q)
		}
	}
	for i := 0; i+1 < len(order); i += 2 + rng.IntN(5) {
		order[i], order[i+1] = order[i+1], order[i]
	}
	if order[len(order)-1] != 400 {
		order = append(order, 400) // the tail is the catch-up's job, tested below
	}
	room.publish(order...)
	waitFor(t, "the replica to hold every event", func() bool { r, _ := store.Room("jiyao-301"); return r.Through == 400 })

	clean, err := sqlite.Open(filepath.Join(t.TempDir(), "clean.db"), sysclock.New(sysclock.TrustAlways))
	if err != nil {
		t.Fatal(err)
	}
	defer clean.Close()
	for _, p := range room.log {
		if _, err := clean.Ingest([]sqlite.Message{{Room: "jiyao-301", Payload: p}}); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := contents(t, clean), contents(t, store); a != b {
		t.Fatalf("the replica differs from the room's log (%d vs %d bytes)", len(b), len(a))
	}
	if r, _ := store.Room("jiyao-301"); r.Events != 400 || r.Lost != 0 {
		t.Fatalf("room record %+v", r)
	}
}

// TestCatchUpAndPruned: a dashboard that starts after the room logged its
// events asks for them all; events the gateway had pruned are recorded lost.
func TestCatchUpAndPruned(t *testing.T) {
	broker := testenv.StartMosquitto(t)
	room := newFakeRoom(t, broker.URL(), "jiyao-302", 25000)
	room.pruned, room.logged = 100, 25000
	_, store := startLink(t, broker.URL())
	waitFor(t, "the catch-up", func() bool { r, _ := store.Room("jiyao-302"); return r.High == 25000 })
	// the first request (1..ResendMax) began at 101: 1..100 were never there
	waitFor(t, "the pruned range marked lost", func() bool { r, _ := store.Room("jiyao-302"); return r.Through == 25000 })
	r, _ := store.Room("jiyao-302")
	if r.Lost != 100 || r.Events != 24900 {
		t.Fatalf("room record %+v, want 100 lost and 24900 held", r)
	}
	room.mu.Lock()
	defer room.mu.Unlock()
	if most := 25000/mqtt.ResendMax + 2; room.resends > most { // and one answered "the log ends"
		t.Fatalf("%d re-send requests for 25,000 events, at most %d", room.resends, most)
	}
}

// TestRetainedState: retained states land in the replica; a closed alarm is
// forgotten even when its clearing was missed.
func TestRetainedState(t *testing.T) {
	broker := testenv.StartMosquitto(t)
	var mu sync.Mutex
	var changes []dashboard.Retained
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "dashboard.db"), sysclock.New(sysclock.TrustAlways))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	watch(t, store, "r9")
	link, err := mqtt.Connect(mqtt.LinkOpts{Conn: wire.Conn{URL: broker.URL()}, Store: store, Clock: sysclock.New(sysclock.TrustAlways),
		State: func(r dashboard.Retained) { mu.Lock(); changes = append(changes, r); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	waitFor(t, "the link", link.Connected)
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("pub"))
	pub.Connect().WaitTimeout(5 * time.Second)
	defer pub.Disconnect(100)
	alarm := `{"room":"r9","id":"r9-1","class":"intrusion","priority":2,"state":"active","silent":false,"count":1,"level":0,"raised_at":"2026-11-22T23:10:00.000+08:00"}`
	pub.Publish("roomguard/r9/alarms/r9-1", 1, true, alarm).WaitTimeout(5 * time.Second)
	pub.Publish("roomguard/r9/devices/door-main", 1, true, `{"device":"door-main","kind":"door","state":"open","active":true,"since":"2026-11-22T23:10:00.000+08:00","seq":1}`).WaitTimeout(5 * time.Second)
	pub.Publish("roomguard/r9/sim/input/door-main", 1, false, "open").WaitTimeout(5 * time.Second) // not state
	waitFor(t, "the alarm and the door", func() bool {
		a, _ := store.Retained("r9", "alarms")
		d, _ := store.Retained("r9", "devices")
		return len(a) == 1 && len(d) == 1
	})
	closed := gateway.Event{Seq: 1, ID: "e1", TS: t0, Room: "r9", Type: "alarm.closed", Severity: "info", Data: json.RawMessage(`{"alarm":"r9-1"}`)}
	p, _ := json.Marshal(closed)
	pub.Publish("roomguard/r9/events", 1, false, p).WaitTimeout(5 * time.Second)
	waitFor(t, "the closed alarm forgotten", func() bool { a, _ := store.Retained("r9", "alarms"); return len(a) == 0 })
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 3 || changes[2].Kind != "alarms" || len(changes[2].Payload) != 0 {
		t.Fatalf("state changes %+v", changes)
	}
}

// Issue 19, item 3: a console that is behind asks once per gap and waits
// for what is in flight. The gap's events come back behind a backlog of
// 8,000 live events still queued for the replica; the console asks once.
// When a request's events are lost on the way, it asks again once the
// feed has taken in everything that came before the reply. Re-sent events
// meant for another console are not taken.
func TestConsoleAsksOncePerGapWhileBehind(t *testing.T) {
	broker := testenv.StartMosquitto(t)
	room := newFakeRoom(t, broker.URL(), "jiyao-303", 9000)
	link, store := startLink(t, broker.URL())
	waitFor(t, "the link", link.Connected)
	waitFor(t, "the room's status", func() bool { r, ok := store.Room("jiyao-303"); return ok && r.Name != "" })
	waitFor(t, "the catch-up of a room that came online", func() bool {
		room.mu.Lock()
		defer room.mu.Unlock()
		return len(room.asked) >= 1
	})
	room.publish(1, 2, 3, 4, 6, 7, 8, 9, 10) // 5 is lost
	backlog := true
	room.mu.Lock()
	room.before = func(from, to uint64) bool {
		if backlog && from == 5 { // the live stream is 8,000 events ahead of the re-sent one
			backlog = false
			for q := 11; q <= 8010; q++ {
				room.client.Publish(wire.Topics{Room: room.id}.Events(), 1, false, room.log[q-1])
			}
			room.logged = 8010
		}
		return true
	}
	room.mu.Unlock()
	waitFor(t, "the gap filled", func() bool { r, _ := store.Room("jiyao-303"); return r.Through == 8010 })
	room.mu.Lock()
	if n := countOf(room.asked, "5-5"); n != 1 {
		t.Errorf("asked %v: %d times for the gap, want once", room.asked, n)
	}
	// The next gap's re-send is lost on the way: asked again, once.
	lost := 0
	room.before = func(from, to uint64) bool {
		if from == 8012 {
			lost++
		}
		return lost != 1
	}
	room.asked = nil
	room.mu.Unlock()
	room.publish(8011, 8013)
	waitFor(t, "the second gap filled", func() bool { r, _ := store.Room("jiyao-303"); return r.Through == 8013 })
	room.mu.Lock()
	if fmt.Sprint(room.asked) != "[8012-8012 8012-8012]" {
		t.Errorf("asked %v, want [8012-8012 8012-8012]: once, and once more when the first was lost", room.asked)
	}
	room.mu.Unlock()
	// Another console's re-sent events are not this one's.
	room.client.Publish(wire.Topics{Room: room.id}.Resend("roomguard-dashboard-other"), 1, false, room.log[8014]).WaitTimeout(5 * time.Second)
	room.publish(8014)
	waitFor(t, "8014", func() bool { r, _ := store.Room("jiyao-303"); return r.Through == 8014 })
	if r, _ := store.Room("jiyao-303"); r.High != 8014 {
		t.Fatalf("took another console's re-send: %+v", r)
	}
}

func countOf(list []string, v string) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}

// Issue 18: a seq missing from a room's log after its oldest event was
// deleted, not pruned (a fresh console used to record it as pruned though
// the retention was a year): the replica records it lost as deleted.
func TestDeletedEventsAreNotCalledPruned(t *testing.T) {
	broker := testenv.StartMosquitto(t)
	room := newFakeRoom(t, broker.URL(), "jiyao-304", 20)
	room.pruned, room.deleted, room.logged = 2, map[uint64]bool{7: true}, 20
	link, store := startLink(t, broker.URL())
	waitFor(t, "the link", link.Connected)
	waitFor(t, "the catch-up", func() bool { r, _ := store.Room("jiyao-304"); return r.Through == 20 })
	lost, err := store.Lost("jiyao-304")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(lost) != "[{1 2 pruned} {7 7 deleted}]" {
		t.Fatalf("lost %v, want 1-2 pruned and 7 deleted", lost)
	}
}

// Issue 20: a room whose gateway goes offline is an alarm on the console
// (priority 1 when it vanished), restored when it is back; the same status
// delivered again raises nothing more.
func TestOfflineRoomIsAnAlarm(t *testing.T) {
	m := testenv.StartMosquitto(t)
	room := newFakeRoom(t, m.URL(), "r-off", 1)
	_, store := startLink(t, m.URL())
	alarm := func() map[string]any {
		p, _ := store.RetainedPayload("r-off", "alarms", dashboard.OfflineAlarm)
		var a map[string]any
		json.Unmarshal(p, &a)
		return a
	}
	waitFor(t, "the room online", func() bool {
		p, _ := store.RetainedPayload("r-off", "status", "")
		return strings.Contains(string(p), `"online"`)
	})
	if alarm() != nil {
		t.Fatal("an alarm for a room online")
	}
	will, _ := json.Marshal(wire.Status{State: "offline", Room: "r-off", Reason: "connection lost"})
	room.client.Publish(wire.Topics{Room: "r-off"}.Status(), 1, true, will).WaitTimeout(5 * time.Second)
	waitFor(t, "the room-offline alarm", func() bool { return alarm()["state"] == "active" })
	if a := alarm(); a["priority"] != float64(1) || a["class"] != "room-offline" || !strings.Contains(fmt.Sprint(a["detail"]), "connection lost") {
		t.Fatalf("the alarm: %v", a)
	}
	room.client.Publish(wire.Topics{Room: "r-off"}.Status(), 1, true, will).WaitTimeout(5 * time.Second) // the same, again
	st, _ := json.Marshal(wire.Status{State: "online", Room: "r-off", Name: "机要室 r-off"})
	room.client.Publish(wire.Topics{Room: "r-off"}.Status(), 1, true, st).WaitTimeout(5 * time.Second)
	waitFor(t, "the alarm restored", func() bool { return alarm()["state"] == "restored" })
	if a := alarm(); a["count"] != float64(1) {
		t.Fatalf("raised %v times", a["count"])
	}
}

// Issue 20: a room online on the broker whose gateway says nothing for
// twice the keepalive its status promised (no event, no heartbeat) is a
// console alarm, priority 1; restored when it speaks again.
func TestSilentRoomIsAnAlarm(t *testing.T) {
	m := testenv.StartMosquitto(t)
	room := newFakeRoom(t, m.URL(), "r-quiet", 1)
	clock := clocktest.New(t0)
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "dashboard.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	watch(t, store, "r-quiet")
	link, err := mqtt.Connect(mqtt.LinkOpts{Conn: wire.Conn{URL: m.URL()}, Store: store, Clock: clock, GapGrace: time.Hour, CatchUp: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close(); store.Close() })
	topics := wire.Topics{Room: "r-quiet"}
	st, _ := json.Marshal(wire.Status{State: "online", Room: "r-quiet", Since: t0.Format(time.RFC3339), KeepAlive: 30})
	room.client.Publish(topics.Status(), 1, true, st).WaitTimeout(5 * time.Second)
	waitFor(t, "the keepalive", func() bool {
		p, _ := store.RetainedPayload("r-quiet", "status", "")
		return strings.Contains(string(p), `"keepalive":30`)
	})
	alarm := func() map[string]any {
		p, _ := store.RetainedPayload("r-quiet", "alarms", dashboard.SilentAlarm)
		var a map[string]any
		json.Unmarshal(p, &a)
		return a
	}
	sweeps := func() { time.Sleep(1500 * time.Millisecond) } // the link looks every second
	clock.Advance(59 * time.Second)
	sweeps()
	if a := alarm(); a != nil {
		t.Fatalf("an alarm within twice the keepalive: %v", a)
	}
	clock.Advance(2 * time.Second)
	waitFor(t, "the room-silent alarm", func() bool { return alarm()["state"] == "active" })
	if a := alarm(); a["priority"] != float64(1) || a["class"] != "room-silent" {
		t.Fatalf("the alarm: %v", a)
	}
	room.client.Publish(topics.Head(), 1, true, []byte(`{"room":"r-quiet","at":"2026-11-22T01:01:01.000Z"}`)).WaitTimeout(5 * time.Second)
	waitFor(t, "the alarm restored", func() bool { return alarm()["state"] == "restored" })
	clock.Advance(30 * time.Second)
	sweeps()
	if a := alarm(); a["state"] != "restored" || a["count"] != float64(1) {
		t.Fatalf("raised again while heard: %v", a)
	}
	// the same head again (a replay) keeps nobody alive
	clock.Advance(31 * time.Second)
	room.client.Publish(topics.Head(), 1, true, []byte(`{"room":"r-quiet","at":"2026-11-22T01:01:01.000Z"}`)).WaitTimeout(5 * time.Second)
	waitFor(t, "the alarm raised again", func() bool { return alarm()["state"] == "active" })
}

// The ACL shipped for an external Mosquitto lets a console read every topic
// it subscribes to (a topic it cannot read is a state it never learns: a
// room's heartbeat, its head, missing would raise room-silent for a quiet
// room that is fine).
func TestShippedACLLetsTheConsoleReadWhatItSubscribes(t *testing.T) {
	m := testenv.StartMosquittoACL(t, "../../examples/mosquitto/roomguard.acl", "jiyao-301", "console-1")
	var mu sync.Mutex
	got := map[string]bool{}
	console := m.ConnectAs(t, "console-1")
	for _, f := range mqtt.RoomTopics {
		if tok := console.Subscribe("roomguard/+/"+f, 1, func(_ paho.Client, msg paho.Message) {
			mu.Lock()
			got[msg.Topic()] = true
			mu.Unlock()
		}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	gw := m.ConnectAs(t, "jiyao-301")
	var want []string
	for _, f := range mqtt.RoomTopics {
		topic := "roomguard/jiyao-301/" + strings.ReplaceAll(f, "+", "x")
		want = append(want, topic)
		if tok := gw.Publish(topic, 1, false, "{}"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		var missing []string
		for _, w := range want {
			if !got[w] {
				missing = append(missing, w)
			}
		}
		mu.Unlock()
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shipped ACL keeps from the console: %v", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Issue 27, finding 8: the console shows only the rooms an admin added.
// Traffic for any other room id (a phantom jiyao-999 with an intrusion) is
// counted, never stored; a room added with its key's fingerprint has the
// key confirmed at first contact when it matches, and not when it does not.
func TestConsoleShowsOnlyRoomsAdded(t *testing.T) {
	broker := testenv.StartMosquitto(t)
	clock := sysclock.New(sysclock.TrustAlways)
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "dashboard.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	right, _, _ := ed25519.GenerateKey(nil)
	other, _, _ := ed25519.GenerateKey(nil)
	if err := store.AddRoom("jiyao-301", gateway.KeyFingerprint(right), "admin"); err != nil {
		t.Fatal(err)
	}
	if err := store.AddRoom("jiyao-302", gateway.KeyFingerprint(right), "admin"); err != nil { // jiyao-302 offers another key
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"Jiyao 303", ""}, {"jiyao-303", "not a fingerprint"}} {
		if err := store.AddRoom(bad[0], bad[1], "admin"); gateway.ErrorCode(err) != gateway.EINVALID {
			t.Fatalf("AddRoom(%q, %q): %v", bad[0], bad[1], err)
		}
	}
	l, err := mqtt.Connect(mqtt.LinkOpts{Conn: wire.Conn{URL: broker.URL()}, Store: store, Clock: clock, CatchUp: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); store.Close() })
	waitFor(t, "the link", l.Connected)
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("someone"))
	pub.Connect().WaitTimeout(5 * time.Second)
	defer pub.Disconnect(100)
	status := func(room string, key ed25519.PublicKey) {
		st, _ := json.Marshal(wire.Status{State: "online", Room: room, Key: gateway.FormatPublicKey(key)})
		pub.Publish(wire.Topics{Room: room}.Status(), 1, true, st).WaitTimeout(5 * time.Second)
	}
	status("jiyao-301", right)
	status("jiyao-302", other)
	status("jiyao-999", other)
	pub.Publish("roomguard/jiyao-999/alarms/jiyao-999-1", 1, true,
		`{"room":"jiyao-999","id":"jiyao-999-1","class":"intrusion","priority":1,"state":"active","count":1,"level":0,"raised_at":"2026-11-22T23:10:00.000+08:00"}`).WaitTimeout(5 * time.Second)
	waitFor(t, "jiyao-301's key confirmed by its fingerprint, jiyao-302's seen only", func() bool {
		keys, _ := store.RoomKeys()
		got := map[string]sqlite.RoomKey{}
		for _, k := range keys {
			got[k.Room] = k
		}
		return got["jiyao-301"].Pinned == gateway.FormatPublicKey(right) && got["jiyao-302"].Seen == gateway.FormatPublicKey(other) &&
			got["jiyao-302"].Pinned == ""
	})
	waitFor(t, "the phantom room counted", func() bool { return l.Unknown()["jiyao-999"] == 2 })
	if _, ok := store.Room("jiyao-999"); ok {
		t.Fatal("a room nobody added is in the replica")
	}
	if rs, _ := store.Retained("jiyao-999", "alarms"); len(rs) != 0 {
		t.Fatalf("a phantom room's alarm is held: %v", rs)
	}
	if rs, _ := store.Retained("", "status"); len(rs) != 2 {
		t.Fatalf("statuses held: %v", rs)
	}
}
