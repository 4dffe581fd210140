package mqtt_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/mqtt"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	gwsqlite "github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/testenv"
	"github.com/roomguard/roomguard/gateway/wire"
)

// siteBridge is the shipped site bridge (examples/mosquitto/site-bridge.conf)
// pointed at a headquarters broker on loopback: its address and the site's
// password put in, its TLS lines left out (the test's brokers speak plain
// MQTT), reconnecting within a second or two.
func siteBridge(t *testing.T, hqPort int) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/mosquitto/site-bridge.conf")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		switch f := strings.Fields(l); {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case f[0] == "address":
			out = append(out, fmt.Sprintf("address 127.0.0.1:%d", hqPort))
		case f[0] == "remote_password":
			out = append(out, "remote_password "+testenv.AccountPassword("site-a"))
		case f[0] == "restart_timeout":
			out = append(out, "restart_timeout 1 2")
		case strings.HasPrefix(f[0], "bridge_") && f[0] != "bridge_protocol_version":
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Issue 33, item 3: a site's Mosquitto bridged to headquarters' with the
// shipped configs (site-bridge.conf, hq.acl). A real gateway on the site
// broker; the headquarters console on its own broker pins the room's key
// and commands it down the bridge, signed. The bridge is cut during events
// and restored: nothing is lost, the replica ends equal to the room's log.
// An event forged at the site broker is quarantined at headquarters; the
// site's account cannot speak for another site's room there.
func TestSitesFederatedByABridge(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	const room = "jiyao-301"
	acl, err := os.ReadFile("../../examples/mosquitto/hq.acl")
	if err != nil {
		t.Fatal(err)
	}
	aclFile := filepath.Join(t.TempDir(), "hq.acl")
	if err := os.WriteFile(aclFile, append(acl, "\nuser observer\ntopic read roomguard/#\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	hq := testenv.StartMosquittoWith(t, fmt.Sprintf("password_file %s\nacl_file %s\n",
		testenv.MosquittoPasswd(t, "site-a", "console-hq", "observer"), aclFile))
	site := testenv.StartMosquittoConf(t, func(port int, dir string) string {
		return fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n"+
			"autosave_on_changes true\nautosave_interval 1\nmax_queued_messages 0\nset_tcp_nodelay true\nlog_dest stderr\nlog_type error\nlog_type warning\n%s\n",
			port, dir, siteBridge(t, hq.Port))
	})

	// The room, on its site's broker; it trusts the headquarters console.
	pub, key, _ := ed25519.GenerateKey(nil)
	dir := t.TempDir()
	example, err := os.ReadFile("../../examples/room.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "room.yaml")
	conf := withoutSection(string(example), "notify") + fmt.Sprintf("\nmqtt: {url: %q, keepalive: 5s}\nprincipals:\n  - {name: hq-console, key: %q, commands: [\"*\"]}\n",
		site.URL(), gateway.FormatPublicKey(pub))
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "room.db")
	testenv.StartGateway(t, "run", "--sim", "--config", cfg, "--db", db)
	driver := paho.NewClient(paho.NewClientOptions().AddBroker(site.URL()).SetClientID("site-driver"))
	if tok := driver.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer driver.Disconnect(100)
	topics := wire.Topics{Room: room}
	door := 0
	toggle := func(n int) {
		for range n {
			door++
			driver.Publish(topics.SimInput("door-main"), 1, false, []string{"closed", "open"}[door%2]).WaitTimeout(5 * time.Second)
			time.Sleep(80 * time.Millisecond) // past the door's 50 ms debounce
		}
	}
	logged := func() uint64 {
		r, err := gwsqlite.OpenReader(db)
		if err != nil {
			return 0
		}
		defer r.Close()
		seq, _ := r.LastSeq()
		return seq
	}

	// The headquarters console, on its broker.
	clock := sysclock.New(sysclock.TrustAlways)
	store, err := sqlite.Open(filepath.Join(dir, "hq.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	watch(t, store, room)
	l, err := mqtt.Connect(mqtt.LinkOpts{Conn: wire.Conn{URL: hq.URL(), Username: "console-hq", Password: testenv.AccountPassword("console-hq")},
		Store: store, Clock: clock, GapGrace: 200 * time.Millisecond, CatchUp: 2 * time.Second,
		Signer: &wire.Signer{Principal: "hq-console", Key: key, Clock: clock}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); store.Close() })
	var seen string
	waitFor(t, "the room's key seen at headquarters, across the bridge", func() bool {
		keys, _ := store.RoomKeys()
		if len(keys) == 1 {
			seen = keys[0].Seen
		}
		return seen != ""
	})
	if err := l.PinKey(room, seen, "admin"); err != nil {
		t.Fatal(err)
	}
	caughtUp := func(what string) {
		t.Helper()
		waitFor(t, what, func() bool {
			r, _ := store.Room(room)
			last := logged()
			return last > 0 && r.Through == last && r.Verified == last
		})
	}
	toggle(6)
	caughtUp("the replica at headquarters holding every event, vouched for")

	// A command from headquarters goes down the bridge, signed; the room's
	// reply comes back up.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// (Whatever the room decides of it — its register is empty here — its
	// answer proves the way: a signature it did not believe would be
	// unauthenticated, no answer a timeout.)
	if _, err := l.Call(ctx, room, "arm", map[string]any{"by": "p-li"}); err != nil {
		var ge *gateway.Error
		if !errors.As(err, &ge) || ge.Code == gateway.EUNAUTHENTICATED || ge.Code == gateway.EFORBIDDEN {
			t.Fatalf("a command across the bridge: %v", err)
		}
	}

	// The bridge cut (headquarters' broker down) during events, restored.
	hq.Stop()
	toggle(20)
	waitFor(t, "the room logging while the bridge is cut", func() bool { return logged() >= 26 })
	hq.Start()
	toggle(2)
	caughtUp("the replica whole again after the cut")
	if r, _ := store.Room(room); r.Lost != 0 {
		t.Fatalf("events lost across the cut: %+v", r)
	}

	// Forged at the site broker, for this room: quarantined at headquarters.
	att := newAttacker(t, site.URL(), room)
	toggle(1)
	waitFor(t, "the attacker seeing the room's event", func() bool {
		att.mu.Lock()
		defer att.mu.Unlock()
		return att.last != nil
	})
	caughtUp("the replica holding it")
	forged, b := att.nextEvent("intrusion")
	att.publish(topics.Events(), false, b)
	toggle(1)
	forgeries := func() int {
		var a struct{ Count int }
		p, _ := store.RetainedPayload(room, "alarms", dashboard.ForgeryAlarm)
		json.Unmarshal(p, &a)
		return a.Count
	}
	waitFor(t, "room-forgery raised at headquarters", func() bool { return forgeries() >= 1 })
	caughtUp("the room's own event at the forged seq")
	recs, _ := store.Events(sqlite.EventFilter{Room: room})
	for _, r := range recs {
		if r.ID == forged.ID {
			t.Fatalf("the forged event is held at headquarters: %+v", r.Event)
		}
	}

	// The site's account at headquarters speaks only for its own rooms.
	got := make(chan string, 4)
	obs := paho.NewClient(paho.NewClientOptions().AddBroker(hq.URL()).SetClientID("observer").SetUsername("observer").SetPassword(testenv.AccountPassword("observer")))
	if tok := obs.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer obs.Disconnect(100)
	obs.Subscribe("roomguard/+/status", 1, func(_ paho.Client, m paho.Message) {
		if strings.Contains(m.Topic(), "jiyao-999") || strings.Contains(string(m.Payload()), "by site-a") {
			got <- m.Topic()
		}
	}).WaitTimeout(5 * time.Second)
	sa := paho.NewClient(paho.NewClientOptions().AddBroker(hq.URL()).SetClientID("site-a-rogue").SetUsername("site-a").SetPassword(testenv.AccountPassword("site-a")))
	if tok := sa.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sa.Disconnect(100)
	sa.Publish("roomguard/jiyao-999/status", 1, false, `{"state":"offline","room":"jiyao-999"}`).WaitTimeout(5 * time.Second)
	sa.Publish("roomguard/jiyao-301/status", 1, false, `{"state":"online","room":"jiyao-301","note":"by site-a"}`).WaitTimeout(5 * time.Second)
	select {
	case topic := <-got:
		if topic != "roomguard/jiyao-301/status" {
			t.Fatalf("the site's account spoke for %s at headquarters", topic)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the site's account cannot publish its own room's topics at headquarters")
	}
	select {
	case topic := <-got:
		t.Fatalf("the site's account spoke for %s at headquarters", topic)
	case <-time.After(500 * time.Millisecond):
	}
}
