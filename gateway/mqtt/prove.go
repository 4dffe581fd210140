package mqtt

import (
	"crypto/ed25519"
	"strings"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
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
	b, _, err := s.proveAt(topic, payload)
	return b, err
}

// proveAt is prove, with the seq of the head the proof vouches for (0: no
// proof).
func (s *Session) proveAt(topic string, payload []byte) ([]byte, uint64, error) {
	p := s.opts.Prover
	if p == nil || len(payload) == 0 || !strings.HasPrefix(topic, s.topics.Root()+"/") {
		// Unsigned: nothing to prove, or another system's topic in its
		// own format (Home Assistant's discovery).
		return payload, 0, nil
	}
	seq, head := p.Head()
	b, err := gateway.Prove(p.Key, p.Room, strings.TrimPrefix(topic, s.topics.Root()+"/"), seq, head, payload)
	return b, seq, err
}

// publish sends payload on topic with its proof: what the room says
// besides its events goes out signed or not at all.
func (s *Session) publish(client paho.Client, topic string, retained bool, payload []byte) error {
	tok, _, err := s.send(client, topic, retained, payload)
	if err != nil {
		return err
	}
	return wire.Wait(tok)
}

// send sends payload on topic with its proof and returns the broker's
// token without waiting for it, and the seq its proof vouches for.
func (s *Session) send(client paho.Client, topic string, retained bool, payload []byte) (paho.Token, uint64, error) {
	b, seq, err := s.proveAt(topic, payload)
	if err != nil {
		return nil, 0, err
	}
	return client.Publish(topic, 1, retained, b), seq, nil
}
