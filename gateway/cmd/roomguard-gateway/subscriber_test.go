package main_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/schemas"
)

// subscriber listens to a room as the dashboard will: a persistent session
// (so a broker restart loses nothing queued for it), QoS 1, dedupe on id,
// and every message checked against its schema.
type subscriber struct {
	t      testing.TB
	client paho.Client

	mu       sync.Mutex
	events   map[string]event // by id
	arrivals int              // events received, duplicates included
	retained map[string][]byte
	latest   map[string][]byte
	invalid  []string
	key      ed25519.PublicKey // the room's, from its first online status
	proven   int               // messages whose proof the key verified
}

type event struct {
	Seq  uint64 `json:"seq"`
	ID   string `json:"id"`
	Type string `json:"type"`
}

func subscribe(t testing.TB, broker, room, clientID string) *subscriber {
	t.Helper()
	s := &subscriber{t: t, events: map[string]event{}, retained: map[string][]byte{}, latest: map[string][]byte{}}
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(clientID).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).SetOrderMatters(false).
		SetResumeSubs(true)
	opts.SetDefaultPublishHandler(s.handle)
	opts.SetOnConnectHandler(func(c paho.Client) {
		c.Subscribe("roomguard/"+room+"/#", 1, s.handle)
	})
	s.client = paho.NewClient(opts)
	if tok := s.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { s.client.Disconnect(100) })
	return s
}

func (s *subscriber) handle(_ paho.Client, m paho.Message) {
	topic, payload := m.Topic(), m.Payload()
	parts := strings.Split(topic, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Retained() {
		s.retained[topic] = payload
	}
	s.latest[topic] = payload
	var schema string
	switch {
	case len(parts) == 3 && parts[2] == "events":
		schema = "event"
		var e event
		json.Unmarshal(payload, &e)
		s.events[e.ID] = e
		s.arrivals++
	case len(parts) == 3 && parts[2] == "status":
		schema = "status"
	case len(parts) == 4 && parts[2] == "devices":
		schema = "device-state"
	case len(parts) == 4 && parts[2] == "sim" && parts[3] == "ports":
		schema = "sim-ports"
	}
	if schema != "" && len(payload) > 0 {
		if err := schemas.ValidateJSON(schema, payload); err != nil {
			s.invalid = append(s.invalid, fmt.Sprintf("%s: %v: %s", topic, err, payload))
		}
	}
	s.checkProof(parts, payload)
}

// checkProof checks that everything the room says besides its events (and
// the simulation's and the commands' topics) carries its signature: the
// room's key is taken from its first online status.
func (s *subscriber) checkProof(parts []string, payload []byte) {
	if len(parts) < 3 || len(payload) == 0 {
		return
	}
	switch parts[2] {
	case "events", "resend", "cmd", "sim":
		return
	}
	rest := strings.Join(parts[2:], "/")
	if s.key == nil && rest == "status" {
		var st struct{ Key string }
		json.Unmarshal(payload, &st)
		if k, err := gateway.ParsePublicKey(st.Key); err == nil {
			s.key = k
		}
	}
	if s.key == nil {
		return // a status from before this room's key, retained by the broker
	}
	if _, _, err := gateway.OpenProof(s.key, parts[1], rest, payload); err != nil {
		s.invalid = append(s.invalid, fmt.Sprintf("%s: not the room's word: %v: %s", strings.Join(parts, "/"), err, payload))
		return
	}
	s.proven++
}

// waitFor polls cond until it holds or 60 s pass.
func (s *subscriber) waitFor(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %s", what)
}

func (s *subscriber) checkSchemas() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.invalid {
		s.t.Errorf("invalid message %s", m)
	}
}
