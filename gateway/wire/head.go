package wire

import (
	"crypto/ed25519"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
)

// RetainedHead reads the room's signed head retained on the broker (the
// last seq the room published, give or take a publisher's window) and
// checks it with the room's key: where a log restored from a backup goes on.
func RetainedHead(c Conn, room string, key ed25519.PublicKey, timeout time.Duration) (gateway.Proof, error) {
	po, err := c.ClientOptions()
	if err != nil {
		return gateway.Proof{}, err
	}
	client := paho.NewClient(po)
	if err := Wait(client.Connect()); err != nil {
		return gateway.Proof{}, fmt.Errorf("mqtt: %s: %w", c.URL, err)
	}
	defer client.Disconnect(100)
	topics := Topics{Room: room}
	got := make(chan []byte, 1)
	if err := Wait(client.Subscribe(topics.Head(), 1, func(_ paho.Client, m paho.Message) {
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
