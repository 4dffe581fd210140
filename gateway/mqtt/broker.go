package mqtt

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// BrokerUser is an account on the embedded broker.
type BrokerUser struct {
	Username string
	Password string
}

// Broker is the embedded broker a room runs when no external broker is
// configured (one room, no guard-station infrastructure).
//
// mochi replays a client's offline queue out of order within the same second,
// which is why consumers order events by seq, never by arrival.
type Broker struct {
	server *mochi.Server
	hook   *authHook
	addr   string
	// Self is the account the gateway's own client uses: random, per run,
	// never written anywhere.
	Self BrokerUser
}

// StartBroker listens on addr ("127.0.0.1:1883"; port 0 picks a free one).
// With no users anybody who reaches the address may connect, so config only
// allows that on loopback. A client that sends a packet longer than
// maxPacket bytes (gateway.Limits.PacketBytes) is disconnected before the
// packet is read.
func StartBroker(addr string, users []BrokerUser, maxPacket int, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt: embedded broker: %w", err)
	}
	// The rule is checked on the address actually bound, here where the
	// broker opens, so no way of giving the address (the config, --listen,
	// ":1883") opens an anonymous broker to the network.
	if tcp, ok := ln.Addr().(*net.TCPAddr); len(users) == 0 && (!ok || !tcp.IP.IsLoopback()) {
		return nil, errors.Join(fmt.Errorf("mqtt: embedded broker: %s is reachable from the network: give accounts (mqtt.embedded.users), or listen on 127.0.0.1", ln.Addr()), ln.Close())
	}
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = 65536 // a subscriber catching up on a backlog must not be cut off
	caps.MaximumPacketSize = uint32(maxPacket)
	s := mochi.New(&mochi.Options{InlineClient: false, Capabilities: caps, Logger: log})
	b := &Broker{server: s, addr: ln.Addr().String()}
	b.Self = BrokerUser{Username: "roomguard-gateway", Password: randomSecret()}
	hook := &authHook{open: len(users) == 0, users: map[string][]byte{}, server: s, reserved: map[string]string{}}
	b.hook = hook
	for _, u := range append(users, b.Self) {
		hook.users[u.Username] = []byte(u.Password)
	}
	if err := s.AddHook(hook, nil); err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	if err := s.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	if err := s.Serve(); err != nil {
		return nil, err
	}
	return b, nil
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

// Close stops the broker.
func (b *Broker) Close() error { return b.server.Close() }

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
	open     bool
	users    map[string][]byte
	server   *mochi.Server
	mu       sync.Mutex
	reserved map[string]string // client id → the only username that may use it
}

func (h *authHook) ID() string { return "roomguard-auth" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnConnectAuthenticate, mochi.OnACLCheck}, []byte{b})
}

func (h *authHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	want, known := h.users[user]
	ok := known && subtle.ConstantTimeCompare(want, pk.Connect.Password) == 1 || !known && h.open && user == ""
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

func (h *authHook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool { return true }
