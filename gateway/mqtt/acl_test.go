package mqtt_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// aclTopics are a room's topics, one of each kind (after roomguard/<room>/).
var aclTopics = []string{"events", "status", "head", "mode", "occupancy", "personnel", "carriers", "carriers/JM-2026-0001",
	"calldown", "devices/door-main", "alarms/jiyao-301-1", "inventories/inv-1", "seal-reports/seal-1", "reply/r1",
	"resend/console-1", "resend/console-2", "cmd/arm", "cmd/carrier/signout", "sim/input/door-main", "sim/ports"}

// aclBroker is one broker under the walk: how each role connects, and who
// observes what is written.
type aclBroker struct {
	url      string
	accounts map[string][2]string // role → user, password
	observer [2]string            // an account reading every room's status (a console's, or a test-only one)
}

func (b aclBroker) connect(t *testing.T, id, user, password string, filter string, got func(topic, payload string)) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.url).SetClientID(id).SetUsername(user).SetPassword(password).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", user, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	if filter != "" {
		if tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { got(m.Topic(), string(m.Payload())) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", user, tok.Error())
		}
	}
	return c
}

// consolesBroker is the embedded broker of room jiyao-301 with two consoles'
// accounts and an inspector's.
func consolesBroker(t *testing.T) *mqtt.Broker {
	t.Helper()
	b, err := mqtt.StartBroker(mqtt.BrokerOpts{Addr: "127.0.0.1:0", Room: "jiyao-301", MaxPacket: config.DefaultLimits().PacketBytes(),
		Users: []mqtt.BrokerUser{{Username: "console-1", Password: "a long secret 1"}, {Username: "console-2", Password: "a long secret 2"},
			{Username: "inspector-1", Password: "a long secret 3", Role: mqtt.RoleReader}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// walk checks every role against every topic: what it reads of what the
// gateway publishes, and which of its own publishes get through.
func (b aclBroker) walk(t *testing.T) {
	room, gw := "jiyao-301", b.accounts["gateway"]
	var mu sync.Mutex
	read := map[string]map[string]bool{} // role → topics it received
	record := func(role string) func(topic, payload string) {
		return func(topic, payload string) {
			mu.Lock()
			defer mu.Unlock()
			if read[role] == nil {
				read[role] = map[string]bool{}
			}
			read[role][topic+" "+payload] = true
		}
	}
	// Reads: the gateway publishes each of its room's topics; each role
	// listens to everything.
	gwc := b.connect(t, gw[0], gw[0], gw[1], "roomguard/"+room+"/#", record("gateway"))
	for _, role := range []string{mqtt.RoleConsole, mqtt.RoleReader} {
		a := b.accounts[role]
		b.connect(t, a[0], a[0], a[1], "roomguard/#", record(role))
	}
	b.connect(t, b.observer[0], b.observer[0], b.observer[1], "roomguard/+/status", record("observer"))
	for _, topic := range aclTopics {
		if tok := gwc.Publish("roomguard/"+room+"/"+topic, 1, false, "gateway"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("the gateway publishes %s: %v", topic, tok.Error())
		}
	}
	// Writes: each role publishes each topic, and where another room would
	// be (a phantom room named after the console's account, another room).
	writes := append(slices.Clone(aclTopics), "../console-1/status", "../jiyao-302/status")
	full := func(topic string) string {
		if rest, ok := strings.CutPrefix(topic, "../"); ok {
			return "roomguard/" + rest
		}
		return "roomguard/" + room + "/" + topic
	}
	// The gateway last: its refused publishes (another room's) may cost
	// the observing connection.
	for _, role := range []string{mqtt.RoleConsole, mqtt.RoleReader, "gateway"} {
		for _, topic := range writes {
			c := gwc
			if role == "gateway" && strings.HasPrefix(topic, "../") {
				// Its own room's writes are through before one that may
				// cost the connection.
				time.Sleep(300 * time.Millisecond)
			}
			if role != "gateway" {
				// A refused publish may cost the client its connection
				// (the embedded broker's answer): one each.
				a := b.accounts[role]
				c = b.connect(t, a[0], a[0], a[1], "", nil)
			}
			c.Publish(full(topic), 1, false, "by "+role).WaitTimeout(2 * time.Second)
			if role != "gateway" {
				c.Disconnect(0)
			}
		}
	}
	// What the docs let through arrives, however loaded the machine: wait
	// for all of it (slowness can only hide a message, never show one the
	// broker refused); then a little longer for what must not arrive.
	arrived := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, role := range []string{mqtt.RoleConsole, mqtt.RoleReader} {
			for _, topic := range aclTopics {
				if mqtt.Reads(role, b.accounts[role][0], topic) && !read[role]["roomguard/"+room+"/"+topic+" gateway"] {
					return false
				}
			}
		}
		for _, role := range []string{"gateway", mqtt.RoleConsole, mqtt.RoleReader} {
			for _, topic := range writes {
				want := role == "gateway" && !strings.HasPrefix(topic, "../") || role == mqtt.RoleConsole && strings.HasPrefix(topic, "cmd/")
				if want && !read["gateway"][full(topic)+" by "+role] && !read["observer"][full(topic)+" by "+role] {
					return false
				}
			}
		}
		return true
	}
	for deadline := time.Now().Add(30 * time.Second); !arrived() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, role := range []string{mqtt.RoleConsole, mqtt.RoleReader} {
		user := b.accounts[role][0]
		for _, topic := range aclTopics {
			got, want := read[role]["roomguard/"+room+"/"+topic+" gateway"], mqtt.Reads(role, user, topic)
			if got != want {
				t.Errorf("%s (%s) reads %s: %v, the docs say %v", role, user, topic, got, want)
			}
		}
	}
	for _, role := range []string{"gateway", mqtt.RoleConsole, mqtt.RoleReader} {
		for _, topic := range writes {
			got := read["gateway"][full(topic)+" by "+role] || read["observer"][full(topic)+" by "+role]
			want := role == "gateway" && !strings.HasPrefix(topic, "../") ||
				role == mqtt.RoleConsole && strings.HasPrefix(topic, "cmd/")
			if got != want {
				t.Errorf("%s writes %s: %v, the docs say %v", role, full(topic), got, want)
			}
		}
	}
}

// Issue 27, finding 9: every role reads and writes exactly what
// docs/mqtt.md says, on the embedded broker and on Mosquitto with the
// shipped ACL: the gateway its room's topics; a console commands, and reads
// the events, the state, the call-down and the replies (and only its own
// re-sent events); an inspector reads the events and the state, never the
// call-down or a signed command, and writes nothing; nobody but a room's
// gateway publishes as a room.
func TestEveryRoleReadsAndWritesWhatTheDocsSay(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		b := consolesBroker(t)
		aclBroker{url: b.URL(), accounts: map[string][2]string{"gateway": {b.Self.Username, b.Self.Password},
			mqtt.RoleConsole: {"console-1", "a long secret 1"}, mqtt.RoleReader: {"inspector-1", "a long secret 3"}},
			observer: [2]string{"console-2", "a long secret 2"}}.walk(t)
	})
	t.Run("mosquitto", func(t *testing.T) {
		shipped, err := os.ReadFile("../../examples/mosquitto/roomguard.acl")
		if err != nil {
			t.Fatal(err)
		}
		acl := filepath.Join(t.TempDir(), "test.acl")
		// The shipped ACL, and a test-only observer of every room's status.
		os.WriteFile(acl, append(shipped, "\nuser observer\ntopic read roomguard/+/status\n"...), 0o600)
		m := testenv.StartMosquittoWith(t, fmt.Sprintf("password_file %s\nacl_file %s\nuse_username_as_clientid true\n",
			testenv.MosquittoPasswd(t, "jiyao-301", "console-1", "inspector-1", "observer"), acl))
		pw := testenv.AccountPassword
		aclBroker{url: m.URL(), accounts: map[string][2]string{"gateway": {"jiyao-301", pw("jiyao-301")},
			mqtt.RoleConsole: {"console-1", pw("console-1")}, mqtt.RoleReader: {"inspector-1", pw("inspector-1")}},
			observer: [2]string{"observer", pw("observer")}}.walk(t)
	})
}

// Issue 32: a room's gateway writes its own Home Assistant discovery and no
// other room's; Home Assistant's account reads it and may send only its
// panels' actions (which the gateway reads); a console neither writes nor
// reads any of it. On the embedded broker and on Mosquitto with the shipped
// ACL.
func TestHomeAssistantDiscoveryACL(t *testing.T) {
	walk := func(t *testing.T, b aclBroker) {
		var mu sync.Mutex
		got := map[string][]string{}
		record := func(who string) func(topic, payload string) {
			return func(topic, payload string) {
				mu.Lock()
				defer mu.Unlock()
				got[who] = append(got[who], topic+" "+payload)
			}
		}
		ha, c, gw := b.accounts[mqtt.RoleHomeAssistant], b.accounts[mqtt.RoleConsole], b.accounts["gateway"]
		b.connect(t, ha[0]+"-sub", ha[0], ha[1], "homeassistant/#", record("homeassistant"))
		b.connect(t, c[0]+"-sub", c[0], c[1], "homeassistant/#", record("console"))
		gwc := b.connect(t, gw[0], gw[0], gw[1], "homeassistant/+/roomguard_jiyao-301/#", record("gateway"))
		own := "homeassistant/binary_sensor/roomguard_jiyao-301/door-main/config"
		other := "homeassistant/binary_sensor/roomguard_jiyao-302/door-main/config"
		set := "homeassistant/alarm_control_panel/roomguard_jiyao-301/panel/set"
		publish := func(who [2]string, topic, payload string) {
			cl := b.connect(t, who[0]+"-pub", who[0], who[1], "", nil) // a refused publish may cost the connection
			cl.Publish(topic, 1, false, payload).WaitTimeout(2 * time.Second)
			cl.Disconnect(0)
		}
		publish(c, own, "console")
		publish(c, set, "console")
		publish(ha, own, "homeassistant")
		publish(ha, set, "homeassistant")
		if tok := gwc.Publish(own, 1, false, "gateway"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("the gateway publishes its discovery: %v", tok.Error())
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			n := len(got["homeassistant"]) + len(got["gateway"])
			mu.Unlock()
			if n >= 4 {
				break
			}
		}
		// Last, as it may cost the gateway's connection: another room's.
		gwc.Publish(other, 1, false, "gateway").WaitTimeout(2 * time.Second)
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(got["homeassistant"])
		slices.Sort(got["gateway"])
		if want := []string{set + " homeassistant", own + " gateway"}; !slices.Equal(got["homeassistant"], want) {
			t.Errorf("Home Assistant's account read %q, want %q", got["homeassistant"], want)
		}
		if want := []string{set + " homeassistant", own + " gateway"}; !slices.Equal(got["gateway"], want) {
			t.Errorf("the gateway read %q, want %q", got["gateway"], want)
		}
		if len(got["console"]) > 0 {
			t.Errorf("a console read %q", got["console"])
		}
	}
	t.Run("embedded", func(t *testing.T) {
		b, err := mqtt.StartBroker(mqtt.BrokerOpts{Addr: "127.0.0.1:0", Room: "jiyao-301", MaxPacket: config.DefaultLimits().PacketBytes(),
			Users: []mqtt.BrokerUser{{Username: "console-1", Password: "a long secret 1"},
				{Username: "homeassistant", Password: "a long secret 3", Role: mqtt.RoleHomeAssistant}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		walk(t, aclBroker{url: b.URL(), accounts: map[string][2]string{"gateway": {b.Self.Username, b.Self.Password},
			mqtt.RoleConsole: {"console-1", "a long secret 1"}, mqtt.RoleHomeAssistant: {"homeassistant", "a long secret 3"}}})
	})
	t.Run("mosquitto", func(t *testing.T) {
		m := testenv.StartMosquittoWith(t, fmt.Sprintf("password_file %s\nacl_file %s\n",
			testenv.MosquittoPasswd(t, "jiyao-301", "console-1", "homeassistant"), "../../examples/mosquitto/roomguard.acl"))
		pw := testenv.AccountPassword
		walk(t, aclBroker{url: m.URL(), accounts: map[string][2]string{"gateway": {"jiyao-301", pw("jiyao-301")},
			mqtt.RoleConsole: {"console-1", pw("console-1")}, mqtt.RoleHomeAssistant: {"homeassistant", pw("homeassistant")}}})
	})
}

// Issue 33, item 4: two consoles on one broker speak under
// roomguard-console/<console>/: each writes its own topics and reads the
// other's status, journal and accounts; it asks the other for its journal
// only as itself; it writes nothing of the other's; a gateway and an
// inspector neither read nor write any of it. On the embedded broker and
// on Mosquitto with the shipped ACL.
func TestConsolesOwnTopicsACL(t *testing.T) {
	walk := func(t *testing.T, b aclBroker) {
		var mu sync.Mutex
		got := map[string]bool{} // who read topic payload
		record := func(who string) func(topic, payload string) {
			return func(topic, payload string) {
				mu.Lock()
				defer mu.Unlock()
				got[who+" "+topic+" "+payload] = true
			}
		}
		root := "roomguard-console/"
		c2 := b.accounts["console-2"]
		reader := b.connect(t, c2[0], c2[0], c2[1], "", nil)
		for _, f := range []string{root + "+/status", root + "+/journal", root + "+/accounts/+", root + "console-2/#"} {
			reader.Subscribe(f, 1, func(_ paho.Client, m paho.Message) { record("console-2")(m.Topic(), string(m.Payload())) }).WaitTimeout(5 * time.Second)
		}
		ins := b.accounts[mqtt.RoleReader]
		b.connect(t, ins[0], ins[0], ins[1], root+"+/status", record("inspector"))
		type write struct {
			who, topic string
			want       bool
		}
		writes := []write{
			{"console-1", "console-1/status", true}, {"console-1", "console-1/journal", true}, {"console-1", "console-1/accounts/wang", true},
			{"console-1", "console-2/want/console-1", true},
			{"console-1", "console-2/want/console-3", false}, {"console-1", "console-2/journal", false}, {"console-1", "console-2/status", false},
			{"console-1", "console-2/accounts/wang", false},
			{"gateway", "jiyao-301/status", false}, {"gateway", "console-1/status", false},
			{mqtt.RoleReader, ins[0] + "/status", false},
		}
		for _, w := range writes {
			a := b.accounts[w.who]
			c := b.connect(t, a[0], a[0], a[1], "", nil) // a refused publish may cost the connection: one each
			c.Publish(root+w.topic, 1, false, "by "+w.who).WaitTimeout(2 * time.Second)
			c.Disconnect(0)
		}
		seen := func(w write) bool {
			mu.Lock()
			defer mu.Unlock()
			return got["console-2 "+root+w.topic+" by "+w.who]
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if !slices.ContainsFunc(writes, func(w write) bool { return w.want && !seen(w) }) {
				break
			}
		}
		time.Sleep(300 * time.Millisecond)
		for _, w := range writes {
			if seen(w) != w.want {
				t.Errorf("%s writes %s: %v, want %v", w.who, root+w.topic, seen(w), w.want)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for k := range got {
			if strings.HasPrefix(k, "inspector ") {
				t.Errorf("the inspector read %s", k)
			}
		}
	}
	t.Run("embedded", func(t *testing.T) {
		b := consolesBroker(t)
		walk(t, aclBroker{url: b.URL(), accounts: map[string][2]string{"gateway": {b.Self.Username, b.Self.Password},
			"console-1": {"console-1", "a long secret 1"}, "console-2": {"console-2", "a long secret 2"}, mqtt.RoleReader: {"inspector-1", "a long secret 3"}}})
	})
	t.Run("mosquitto", func(t *testing.T) {
		m := testenv.StartMosquittoACL(t, "../../examples/mosquitto/roomguard.acl", "jiyao-301", "console-1", "console-2", "inspector-1")
		pw := testenv.AccountPassword
		walk(t, aclBroker{url: m.URL(), accounts: map[string][2]string{"gateway": {"jiyao-301", pw("jiyao-301")},
			"console-1": {"console-1", pw("console-1")}, "console-2": {"console-2", pw("console-2")}, mqtt.RoleReader: {"inspector-1", pw("inspector-1")}}})
	})
}
