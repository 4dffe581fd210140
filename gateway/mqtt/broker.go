package mqtt

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/roomguard/roomguard/gateway/homeassistant"
	"github.com/roomguard/roomguard/gateway/wire"
)

// BrokerUser is an account on the embedded broker.
type BrokerUser struct {
	Username string
	Password string
	Role     string // RoleConsole (the default), RoleReader or RoleHomeAssistant
}

// The roles of an embedded broker's accounts (issue 17): what each may
// publish and read.
const (
	// RoleConsole publishes commands to any room (cmd/#, and sim/# in a
	// simulated room) and reads every room's topics but other consoles'
	// re-sent events.
	RoleConsole = "console"
	// RoleReader reads what a console reads and publishes nothing.
	RoleReader = "reader"
	// RoleHomeAssistant is Home Assistant's account: it reads what a reader
	// reads and the rooms' discovery, and publishes only its panels'
	// actions (which a room takes only with arming enabled, and only
	// arming, with a person's code).
	RoleHomeAssistant = "homeassistant"
	// roleGateway is the gateway's own account: its room's topics only.
	roleGateway = "gateway"
)

// BrokerOpts configures the embedded broker.
type BrokerOpts struct {
	Addr  string // "127.0.0.1:1883"; port 0 picks a free one
	Users []BrokerUser
	Room  string // the gateway's room: its own account publishes there only
	// MaxPacket bounds a packet (gateway.Limits.PacketBytes): a client
	// that sends a longer one is cut off before it is read.
	MaxPacket int
	// Anonymous lets clients without an account in, with every right: a
	// simulated room on loopback only (run --sim).
	Anonymous bool
	// TLS, when set, is a second listener taking TLS connections (the
	// accounts and their roles alike).
	TLS *BrokerTLS
	Log *slog.Logger
}

// BrokerTLS is the embedded broker's TLS listener.
type BrokerTLS struct {
	Addr, CertFile, KeyFile string
}

// Broker is the embedded broker a room runs when no external broker is
// configured (one room, no guard-station infrastructure).
//
// mochi replays a client's offline queue out of order within the same second,
// which is why consumers order events by seq, never by arrival.
type Broker struct {
	server  *mochi.Server
	hook    *authHook
	addr    string
	tlsAddr string
	// Self is the account the gateway's own client uses: random, per run,
	// never written anywhere.
	Self BrokerUser
}

// StartBroker starts the embedded broker. Every client needs an account
// (o.Users, each with its role), but in a simulated room on loopback
// (o.Anonymous); without accounts the broker listens on loopback only, so
// no way of giving the address opens it to the network.
func StartBroker(o BrokerOpts) (*Broker, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, u := range o.Users {
		if u.Role != "" && u.Role != RoleConsole && u.Role != RoleReader && u.Role != RoleHomeAssistant {
			return nil, fmt.Errorf("mqtt: embedded broker: account %q: role %q (want %s, %s or %s)", u.Username, u.Role, RoleConsole, RoleReader, RoleHomeAssistant)
		}
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt: embedded broker: %w", err)
	}
	// The rule is checked on the address actually bound, here where the
	// broker opens, so no way of giving the address (the config, --listen,
	// ":1883") opens an anonymous broker to the network.
	tcp, ok := ln.Addr().(*net.TCPAddr)
	loopback := ok && tcp.IP.IsLoopback()
	if len(o.Users) == 0 && !loopback {
		return nil, errors.Join(fmt.Errorf("mqtt: embedded broker: %s is reachable from the network: give accounts (mqtt.embedded.users), or listen on 127.0.0.1", ln.Addr()), ln.Close())
	}
	if o.Anonymous && !loopback {
		return nil, errors.Join(fmt.Errorf("mqtt: embedded broker: %s is reachable from the network: anonymous clients (a simulated room) only on 127.0.0.1", ln.Addr()), ln.Close())
	}
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = 65536 // a subscriber catching up on a backlog must not be cut off
	caps.MaximumPacketSize = uint32(o.MaxPacket)
	s := mochi.New(&mochi.Options{InlineClient: false, Capabilities: caps, Logger: log})
	b := &Broker{server: s, addr: ln.Addr().String()}
	b.Self = BrokerUser{Username: "roomguard-gateway", Password: randomSecret(), Role: roleGateway}
	hook := &authHook{anonymous: o.Anonymous, room: o.Room, users: map[string][]byte{}, roles: map[string]string{}, server: s, reserved: map[string]string{}}
	b.hook = hook
	for _, u := range append(o.Users, b.Self) {
		hook.users[u.Username] = []byte(u.Password)
		hook.roles[u.Username] = cmp.Or(u.Role, RoleConsole)
	}
	if err := s.AddHook(hook, nil); err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	if err := s.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	if o.TLS != nil {
		cert, err := tls.LoadX509KeyPair(o.TLS.CertFile, o.TLS.KeyFile)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("mqtt: embedded broker: TLS: %w", err), s.Close())
		}
		tln, err := tls.Listen("tcp", o.TLS.Addr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("mqtt: embedded broker: TLS: %w", err), s.Close())
		}
		b.tlsAddr = tln.Addr().String()
		if err := s.AddListener(listeners.NewNet("tls", tln)); err != nil {
			return nil, errors.Join(err, tln.Close(), s.Close())
		}
	}
	if err := s.Serve(); err != nil {
		return nil, err
	}
	return b, nil
}

// TLSURL is the ssl:// URL of the TLS listener ("" without one).
func (b *Broker) TLSURL() string {
	if b.tlsAddr == "" {
		return ""
	}
	return "ssl://" + b.tlsAddr
}

// Reserve keeps client id for the gateway's own account (Self): any other
// account connecting with it is refused, so nobody throws the gateway off
// its broker.
func (b *Broker) Reserve(clientID string) {
	b.hook.mu.Lock()
	b.hook.reserved[clientID] = b.Self.Username
	b.hook.mu.Unlock()
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's tcp:// URL.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close stops the broker. mochi-mqtt v2.7.9 can deadlock in its Close
// when a client's connection ends at that moment (Clients.GetByListener
// takes the read lock twice, through Len, and a client's removal waiting
// for the write lock between the two blocks both for ever: seen once in
// ~1,000 runs of TestNoClientIDTakeover). The stop is not waited for
// longer than closeWait: the process is stopping, or a test is over.
func (b *Broker) Close() error {
	done := make(chan error, 1)
	go func() { done <- b.server.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(closeWait):
		return errors.New("mqtt: the embedded broker did not stop within " + closeWait.String() + " (a known mochi-mqtt deadlock); left behind")
	}
}

// closeWait bounds Close.
const closeWait = 5 * time.Second

func randomSecret() string {
	var k [24]byte
	if _, err := rand.Read(k[:]); err != nil {
		panic("mqtt: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(k[:])
}

// authHook checks usernames and passwords in constant time, and keeps
// client ids to their accounts: the gateway's id is its account's alone,
// and a client connected under one account is not thrown off by another
// using its id (MQTT lets a new connection take an id over).
type authHook struct {
	mochi.HookBase
	anonymous bool
	room      string
	users     map[string][]byte
	roles     map[string]string
	server    *mochi.Server
	mu        sync.Mutex
	reserved  map[string]string // client id → the only username that may use it
}

func (h *authHook) ID() string { return "roomguard-auth" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnConnectAuthenticate, mochi.OnACLCheck}, []byte{b})
}

func (h *authHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	want, known := h.users[user]
	ok := known && subtle.ConstantTimeCompare(want, pk.Connect.Password) == 1 || !known && h.anonymous && user == ""
	if !ok {
		return false
	}
	h.mu.Lock()
	owner, reserved := h.reserved[cl.ID]
	h.mu.Unlock()
	if reserved && owner != user {
		return false // another account with the gateway's id (issue 19: a takeover)
	}
	if old, ok := h.server.Clients.Get(cl.ID); ok && !old.Closed() && string(old.Properties.Username) != user {
		return false
	}
	return true
}

// OnACLCheck is asked for every publish (write, its topic), subscription
// (its filter) and delivery (the message's topic).
func (h *authHook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	user := string(cl.Properties.Username)
	role, ok := h.roles[user]
	if !ok {
		return h.anonymous && user == "" // a simulated room's drivers
	}
	return allowed(role, user, h.room, h.anonymous, topic, write)
}

// allowed is the embedded broker's ACL, as docs/mqtt.md says it (issue 27,
// finding 9): the gateway's account publishes and reads its room's topics;
// a console publishes commands (and, in a simulated room, simulated inputs)
// and reads every room's events, state, call-down and replies, and the
// events re-sent for it alone; a reader (an inspector) reads the events and
// the state, never the call-down (people's phone numbers), the replies or
// the signed commands, and publishes nothing. Home Assistant's discovery
// of a room (<prefix>/<component>/roomguard_<room>/…) is written by the
// room's gateway and read by Home Assistant's account (RoleHomeAssistant),
// which may send its panels' actions.
func allowed(role, user, room string, sim bool, topic string, write bool) bool {
	lv := strings.Split(topic, "/")
	discovery := len(lv) >= 4 && lv[0] != "roomguard" && !slices.ContainsFunc(lv, wild) &&
		strings.HasPrefix(lv[2], homeassistant.NodeID(""))
	if lv[0] == wire.ConsoleRoot {
		return role == RoleConsole && consoleAllowed(user, lv, write)
	}
	if role == roleGateway {
		// Its room's topics; its room's discovery node (a filter of it too:
		// what it delivers is checked topic by topic).
		return len(lv) >= 2 && lv[0] == "roomguard" && lv[1] == room ||
			len(lv) >= 4 && lv[0] != "roomguard" && !wild(lv[0]) && lv[2] == homeassistant.NodeID(room) && (!write || discovery)
	}
	if discovery {
		if write {
			return role == RoleHomeAssistant && len(lv) == 5 && lv[1] == "alarm_control_panel" && lv[3] == "panel" && lv[4] == "set"
		}
		return role == RoleHomeAssistant
	}
	if role == RoleHomeAssistant {
		if write {
			return false
		}
		role = RoleReader // and the rest it reads as a reader does
	}
	if lv[0] != "roomguard" && lv[0] != "#" && lv[0] != "+" && (write || role != RoleReader || !slices.ContainsFunc(lv, wild)) {
		return false
	}
	if write {
		// roomguard/<room>/cmd/<name…> or, simulated, sim/<…>
		return role == RoleConsole && len(lv) >= 4 && lv[0] == "roomguard" && !wild(lv[1]) &&
			(lv[2] == "cmd" || sim && lv[2] == "sim") && !slices.ContainsFunc(lv[3:], wild)
	}
	if slices.ContainsFunc(lv, wild) {
		// A filter: allowed; what it delivers is checked topic by topic.
		return true
	}
	if len(lv) < 3 {
		return false
	}
	return Reads(role, user, strings.Join(lv[2:], "/"))
}

// Reads tells whether an account of role (RoleConsole or RoleReader) named
// user reads a room's topic (what follows roomguard/<room>/), by the table
// of docs/mqtt.md. The shipped Mosquitto ACL says the same; a test walks
// both brokers.
func Reads(role, user, topic string) bool {
	kind, key, nested := strings.Cut(topic, "/")
	if nested && strings.Contains(key, "/") {
		return false
	}
	if !nested {
		switch kind {
		case "events", "status", "head", "mode", "occupancy", "personnel", "carriers":
			return true
		case "calldown":
			return role == RoleConsole
		}
		return false
	}
	switch kind {
	case "carriers", "devices", "alarms", "inventories", "seal-reports":
		return true
	case "reply":
		return role == RoleConsole
	case "resend":
		return role == RoleConsole && key == user
	}
	return false
}

// consoleAllowed is what a console reads and writes of the consoles' own
// topics (roomguard-console/<console>/…: dashboard/mqtt/peer.go): its own,
// read and write; every console's status, journal and accounts, read; a
// request to another console, written as itself (want/<user>).
func consoleAllowed(user string, lv []string, write bool) bool {
	if len(lv) < 3 || wild(lv[1]) && write {
		return false
	}
	if lv[1] == user {
		return true
	}
	switch {
	case len(lv) == 3 && (lv[2] == "status" || lv[2] == "journal"):
		return !write
	case len(lv) == 4 && lv[2] == "accounts":
		return !write
	case len(lv) == 4 && lv[2] == "want":
		return write && lv[3] == user
	}
	return false
}

func wild(level string) bool { return level == "+" || level == "#" }
