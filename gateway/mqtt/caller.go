package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Caller gives commands to rooms and waits for their replies: the operator's
// side of roomguard/<room>/cmd/<name> → roomguard/<room>/reply/<id>, used by
// the command line (the gateway is the only writer of its log, so a CLI that
// changes anything goes through it like the dashboard does).
type Caller struct {
	client paho.Client
	// Signer, when set, signs every command (a room believes no other).
	Signer *wire.Signer
}

// ErrNoRoom is returned when the broker holds no status for the room.
var ErrNoRoom = errors.New("no such room on this broker")

// Dial connects a caller. A ClientID is made up when c has none.
func Dial(c wire.Conn) (*Caller, error) {
	if c.ClientID == "" {
		c.ClientID = "roomguard-cli-" + randomID()
	}
	po, err := c.ClientOptions()
	if err != nil {
		return nil, err
	}
	client := paho.NewClient(po)
	if err := wire.Wait(client.Connect()); err != nil {
		return nil, fmt.Errorf("mqtt: connect to %s: %w", c.URL, err)
	}
	return &Caller{client: client}, nil
}

// Close disconnects.
func (c *Caller) Close() { c.client.Disconnect(250) }

// Retained returns the retained payload of topic, or nil when the broker
// holds none (it sends a retained message right after the subscription;
// patience bounds how long to wait for one).
func (c *Caller) Retained(ctx context.Context, topic string, patience time.Duration) ([]byte, error) {
	got := make(chan []byte, 1)
	tok := c.client.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	})
	if err := wire.Wait(tok); err != nil {
		return nil, fmt.Errorf("mqtt: subscribe %s: %w", topic, err)
	}
	defer c.client.Unsubscribe(topic)
	timer := time.NewTimer(patience)
	defer timer.Stop()
	select {
	case p := <-got:
		return p, nil
	case <-timer.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Online checks the room's retained status: an error says why no command
// would be carried out now.
func (c *Caller) Online(ctx context.Context, room string) error {
	p, err := c.Retained(ctx, wire.Topics{Room: room}.Status(), 3*time.Second)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("room %q: %w", room, ErrNoRoom)
	}
	var st wire.Status
	if err := json.Unmarshal(p, &st); err != nil {
		return fmt.Errorf("room %q: unreadable status: %w", room, err)
	}
	if st.State != "online" {
		return fmt.Errorf("room %q is %s (since %s, %s)", room, st.State, st.Since, st.Reason)
	}
	return nil
}

// Publish sends payload on topic (QoS 1, not retained) and waits for the
// broker to take it.
func (c *Caller) Publish(topic string, payload []byte) error {
	if err := wire.Wait(c.client.Publish(topic, 1, false, payload)); err != nil {
		return fmt.Errorf("mqtt: publish %s: %w", topic, err)
	}
	return nil
}

// Call sends cmd (a JSON object; its "id" is set here) to the room and waits
// for the reply until ctx ends. An error is about getting there and back; a
// refusal is a reply with status "error" (see wire.Reply.Err).
func (c *Caller) Call(ctx context.Context, room, name string, cmd map[string]any) (wire.Reply, error) {
	id := "cli-" + randomID()
	cmd["id"] = id
	payload, err := json.Marshal(cmd)
	if err != nil {
		return wire.Reply{}, err
	}
	if c.Signer != nil {
		if payload, err = c.Signer.Sign(room, name, payload); err != nil {
			return wire.Reply{}, err
		}
	}
	topics := wire.Topics{Room: room}
	got := make(chan []byte, 1)
	if err := wire.Wait(c.client.Subscribe(topics.Reply(id), 1, func(_ paho.Client, m paho.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	})); err != nil {
		return wire.Reply{}, fmt.Errorf("mqtt: subscribe to the reply: %w", err)
	}
	defer c.client.Unsubscribe(topics.Reply(id))
	if err := wire.Wait(c.client.Publish(topics.Root()+"/cmd/"+name, 1, false, payload)); err != nil {
		return wire.Reply{}, fmt.Errorf("mqtt: send %s: %w", name, err)
	}
	select {
	case p := <-got:
		var r wire.Reply
		if err := json.Unmarshal(p, &r); err != nil {
			return wire.Reply{}, fmt.Errorf("mqtt: unreadable reply to %s: %w", name, err)
		}
		return r, nil
	case <-ctx.Done():
		return wire.Reply{}, fmt.Errorf("no reply to %s from room %q: %w", name, room, ctx.Err())
	}
}

func randomID() string { return randomSecret()[:16] }
