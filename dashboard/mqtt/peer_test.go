package mqtt_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/mqtt"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/testenv"
	"github.com/roomguard/roomguard/gateway/wire"
)

// console is one console of a pair under test: its store, and its link
// while it runs.
type console struct {
	name  string
	key   ed25519.PrivateKey
	store *sqlite.Store
	link  *mqtt.Link
	peers *mqtt.PeerLink
}

func newConsole(t *testing.T, name string) *console {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "dashboard.db"), sysclock.New(sysclock.TrustAlways))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &console{name: name, key: key, store: store}
}

// start links c to the broker as its account, pinning peer's key; with
// accountsFrom, peer is its accounts' primary.
func (c *console) start(t *testing.T, m *testenv.Mosquitto, peer *console, accountsFrom string) {
	t.Helper()
	clock := sysclock.New(sysclock.TrustAlways)
	p, err := mqtt.NewPeers(mqtt.PeerOpts{Self: c.name, Key: c.key, Peers: map[string]ed25519.PublicKey{peer.name: peer.key.Public().(ed25519.PublicKey)},
		AccountsFrom: accountsFrom, Store: c.store, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	l, err := mqtt.Connect(mqtt.LinkOpts{Conn: wire.Conn{URL: m.URL(), Username: c.name, Password: testenv.AccountPassword(c.name)},
		Store: c.store, Clock: clock, Peers: p, CatchUp: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c.link, c.peers = l, p
	t.Cleanup(c.stop)
}

func (c *console) stop() {
	if c.link != nil {
		c.link.Close()
		c.link, c.peers = nil, nil
	}
}

func (c *console) audit(t *testing.T, user, action, target string) {
	t.Helper()
	if err := c.store.Audit(dashboard.AuditEntry{At: time.Now(), User: user, Action: action, Target: target, Result: "ok"}); err != nil {
		t.Fatal(err)
	}
}

// eventually waits up to 20 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

// auditOf is every entry of c's audit log made at console from (one
// console's own: "").
func (c *console) auditOf(t *testing.T, from string) []dashboard.AuditEntry {
	t.Helper()
	log, err := c.store.AuditLog(sqlite.AuditFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var out []dashboard.AuditEntry
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Console == from {
			out = append(out, log[i])
		}
	}
	return out
}

// Issue 33, item 4: two consoles on one Mosquitto with the shipped ACL,
// each as its own account. The accounts' primary publishes its accounts
// and the other keeps them; each takes in the other's journal. One is
// stopped while the other works (more than a batch of entries), and
// catches up when back, once and in order; a journal entry its account
// publishes with another key while it is away is refused; the other
// console cannot write the primary's accounts.
func TestTwoConsolesOnOneBroker(t *testing.T) {
	m := testenv.StartMosquittoACL(t, "../../examples/mosquitto/roomguard.acl", "console-1", "console-2")
	a, b := newConsole(t, "console-1"), newConsole(t, "console-2")
	if err := a.store.CreateUser(dashboard.User{Name: "wang", Display: "王", Role: dashboard.RoleGuard, Hash: "h1", Created: time.Now(), CreatedBy: "admin"}, false); err != nil {
		t.Fatal(err)
	}
	a.start(t, m, b, "")
	b.start(t, m, a, "console-1")
	eventually(t, "console-2 keeps wang's account", func() bool { u, err := b.store.User("wang"); return err == nil && u.Hash == "h1" })
	eventually(t, "each sees the other online", func() bool {
		return len(a.peers.States()) == 1 && a.peers.States()[0].Online && b.peers.States()[0].Online
	})

	a.audit(t, "wang", "alarm.ack", "a-1")
	b.audit(t, "li", "visitor.register", "v-1")
	eventually(t, "each takes in the other's entry", func() bool {
		return len(b.auditOf(t, "console-1")) == 1 && len(a.auditOf(t, "console-2")) == 1
	})
	if got := b.auditOf(t, "console-1")[0]; got.User != "wang" || got.Action != "alarm.ack" || got.Target != "a-1" {
		t.Fatalf("console-2 holds %+v", got)
	}

	// A password changed at the primary reaches the other.
	if _, err := a.store.UpdateUser("wang", func(u *dashboard.User) error { u.Hash = "h2"; return nil }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new password at console-2", func() bool { u, err := b.store.User("wang"); return err == nil && u.Hash == "h2" })

	// console-2 away: console-1 works on; the last will says it is gone.
	b.stop()
	eventually(t, "console-1 sees console-2 offline", func() bool { return !a.peers.States()[0].Online })
	const more = 1200 // more than one request's batch
	for i := range more {
		a.audit(t, "wang", "page.view", fmt.Sprint(i))
	}
	if _, err := a.store.HandOver(dashboard.Handover{Outgoing: "wang", OutAt: time.Now(), Notes: "平安"}); err != nil {
		t.Fatal(err)
	}
	// Its account, with a key that is not console-2's: refused at console-1.
	_, wrong, _ := ed25519.GenerateKey(nil)
	body, _ := json.Marshal(map[string]any{"seq": 2, "at": time.Now(), "kind": "audit", "head": 2,
		"body": dashboard.JournalAuditBody{At: time.Now(), User: "mallory", Action: "user.create", Result: "ok"}})
	forged, err := gateway.Prove(wrong, "console:console-2", "journal", 2, gateway.ChainHash(body), body)
	if err != nil {
		t.Fatal(err)
	}
	rogue := m.ConnectAs(t, "console-2")
	rogue.Publish(mqtt.PeerRoot+"/console-2/journal", 1, false, forged).WaitTimeout(5 * time.Second)
	// And it cannot write the primary's accounts (the ACL).
	acct, _ := json.Marshal(dashboard.AccountRecord{Name: "mallory", Display: "m", Role: dashboard.RoleAdmin, Hash: "x", Rev: 1})
	rogue.Publish(mqtt.PeerRoot+"/console-1/accounts/mallory", 1, true, acct).WaitTimeout(5 * time.Second)
	rogue.Disconnect(100)

	b.start(t, m, a, "console-1")
	eventually(t, "console-2 catches up", func() bool { return len(b.auditOf(t, "console-1")) == 1+more })
	for i, e := range b.auditOf(t, "console-1")[1:] {
		if e.Target != fmt.Sprint(i) {
			t.Fatalf("entry %d at console-2: %+v (out of order)", i, e)
		}
	}
	eventually(t, "the handover at console-2", func() bool {
		hs, err := b.store.Handovers(1)
		return err == nil && len(hs) == 1 && hs[0].Console == "console-1" && hs[0].Notes == "平安"
	})
	b.audit(t, "li", "duty.start", "")
	eventually(t, "console-1 takes in console-2's second entry", func() bool { return len(a.auditOf(t, "console-2")) == 2 })
	for _, e := range a.auditOf(t, "console-2") {
		if e.User == "mallory" {
			t.Fatalf("the forged entry was taken in: %+v", e)
		}
	}
	if _, err := b.store.User("mallory"); gateway.ErrorCode(err) != gateway.ENOTFOUND {
		t.Fatalf("an account written by console-2 under console-1's topic: %v", err)
	}
	if s := b.peers.States()[0]; s.Applied != s.Head || s.Applied != uint64(1+more+1) {
		t.Fatalf("console-2's view of console-1: %+v", s)
	}
}
