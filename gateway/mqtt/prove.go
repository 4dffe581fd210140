package mqtt

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
)

// Prover signs what the room publishes besides its events (gateway.Prove):
// retained state, replies, the status and its last will, each as of the
// log's head when it goes out.
type Prover struct {
	Room string
	Key  ed25519.PrivateKey
	Head func() (seq uint64, hash string) // the log's head now (sqlite.Store.Head)
}

// Public is the key a console pins for the room.
func (p *Prover) Public() string { return gateway.FormatPublicKey(p.Key.Public().(ed25519.PublicKey)) }

// prove returns payload, published on topic, with its proof; an empty
// payload (the clearing of a retained topic) cannot carry one and goes as
// it is, and so does everything when the session has no prover.
func (s *Session) prove(topic string, payload []byte) ([]byte, error) {
	p := s.opts.Prover
	if p == nil || len(payload) == 0 {
		return payload, nil
	}
	seq, head := p.Head()
	return gateway.Prove(p.Key, p.Room, strings.TrimPrefix(topic, s.topics.Root()+"/"), seq, head, payload)
}

// publish sends payload on topic with its proof: what the room says
// besides its events goes out signed or not at all.
func (s *Session) publish(client paho.Client, topic string, retained bool, payload []byte) error {
	b, err := s.prove(topic, payload)
	if err != nil {
		return err
	}
	return wait(client.Publish(topic, 1, retained, b))
}

// RetainedHead reads the room's signed head retained on the broker (the
// last seq the room published, give or take a publisher's window) and
// checks it with the room's key: where a log restored from a backup goes on.
func RetainedHead(c Conn, room string, key ed25519.PublicKey, timeout time.Duration) (gateway.Proof, error) {
	po, err := c.options()
	if err != nil {
		return gateway.Proof{}, err
	}
	client := paho.NewClient(po)
	if err := wait(client.Connect()); err != nil {
		return gateway.Proof{}, fmt.Errorf("mqtt: %s: %w", c.URL, err)
	}
	defer client.Disconnect(100)
	topics := Topics{Room: room}
	got := make(chan []byte, 1)
	if err := wait(client.Subscribe(topics.Head(), 1, func(_ paho.Client, m paho.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	})); err != nil {
		return gateway.Proof{}, fmt.Errorf("mqtt: subscribe to %s: %w", topics.Head(), err)
	}
	select {
	case p := <-got:
		_, proof, err := gateway.OpenProof(key, room, "head", p)
		if err != nil {
			return gateway.Proof{}, fmt.Errorf("mqtt: the head retained on %s is not the room's: %w", c.URL, err)
		}
		return proof, nil
	case <-time.After(timeout):
		return gateway.Proof{}, fmt.Errorf("mqtt: no head of room %s retained on %s", room, c.URL)
	}
}
