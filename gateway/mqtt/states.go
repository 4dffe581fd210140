package mqtt

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/homeassistant"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Retained keeps the room's present state retained on the broker: each
// device on roomguard/<room>/devices/<id>, the mode, every open alarm, the
// seal reports. Setters never block: they record the latest payload of a
// topic and wake the publishing goroutine; intermediate payloads of a topic
// that changes faster than the broker takes them are skipped (the events
// carry every change; a retained message is only the present). An empty
// payload clears the topic (a closed alarm). Every reconnection sends all
// of them again, so a broker that lost its retained store gets them back.
type Retained struct {
	session *Session

	mu     sync.Mutex
	latest map[string][]byte
	dirty  map[string]bool
	wake   chan struct{}
	proven uint64 // the highest seq a state sent vouched for (its proof)
	headed uint64 // the highest seq a head sent vouched for
	owed   uint64 // the highest seq a state vouched for and no head yet
	later  func() bool
}

// HeadAfter is how soon a head follows events a state already vouched
// for: the retained head stays current (restore resumes after it, a
// newcomer trusts up to it) at one head for a burst, not one an event.
const HeadAfter = 100 * time.Millisecond

// NewRetained returns a retained publisher on session.
func NewRetained(s *Session) *Retained {
	p := &Retained{session: s, latest: map[string][]byte{}, dirty: map[string]bool{}, wake: make(chan struct{}, 1)}
	s.OnUp(func(uint64) {
		p.mu.Lock()
		for topic := range p.latest {
			p.dirty[topic] = true
		}
		p.mu.Unlock()
		p.signal()
	})
	return p
}

// Set makes payload the retained message of topic (empty: clear it).
func (p *Retained) Set(topic string, payload []byte) {
	p.mu.Lock()
	p.latest[topic] = payload
	p.dirty[topic] = true
	p.mu.Unlock()
	p.signal()
}

// DeviceState implements gateway.StateSink.
func (p *Retained) DeviceState(st gateway.DeviceState) {
	b, _ := json.Marshal(st)
	p.Set(p.session.topics.Device(st.Device), b)
}

// Vouch makes sure the events up to seq, published, are vouched for: every
// retained state goes with a proof of the log's head when it is sent
// (Prover), which a console anchors on like the head's. So the signed head
// is sent only when no state sent, nor one waiting to be, covers seq: a
// live event whose device state changed costs one signature, not two.
// Called whenever the events published catch up with the log
// (Publisher.Drained).
func (p *Retained) Vouch(seq uint64) {
	p.mu.Lock()
	covered := p.proven >= seq
	for topic := range p.dirty {
		if len(p.latest[topic]) > 0 { // signed when sent, at a head at or above seq
			covered = true
			break
		}
	}
	if covered && p.later == nil && seq > p.headed {
		p.owed = max(p.owed, seq)
		p.later = p.session.opts.Clock.AfterFunc(HeadAfter, p.payHead)
	} else if covered {
		p.owed = max(p.owed, seq)
	}
	p.mu.Unlock()
	if !covered {
		p.Head()
	}
}

// payHead sends the head a state's vouching put off, unless one went since.
func (p *Retained) payHead() {
	p.mu.Lock()
	p.later = nil
	owed := p.owed > p.headed
	p.mu.Unlock()
	if owed {
		p.Head()
	}
}

// Proven is the highest seq a state the broker acknowledged vouched for.
func (p *Retained) Proven() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proven
}

// Head publishes the room's chain head, signed (Prover): a consumer that
// holds it knows every event up to it for the room's own.
func (p *Retained) Head() {
	at := p.session.opts.Clock.Now().Format(gateway.TimeFormat)
	p.Set(p.session.topics.Head(), fmt.Appendf(nil, `{"room":%q,"at":%q}`, p.session.opts.Room, at))
}

// Heartbeat publishes the signed head every keepalive (Session.KeepAlive),
// events or not, until ctx ends: a console that hears nothing from the room
// for twice as long knows its gateway is stuck or cut off, even when the
// broker still holds its connection. The time in it makes each beat new; the
// signature makes it the room's.
func (p *Retained) Heartbeat(ctx context.Context) {
	for {
		next := make(chan struct{})
		stop := p.session.opts.Clock.AfterFunc(p.session.KeepAlive(), func() { close(next) })
		select {
		case <-ctx.Done():
			stop()
			return
		case <-next:
		}
		p.Head()
	}
}

// Mode implements gateway.PanelSink; with Home Assistant, its alarm
// panel's state follows.
func (p *Retained) Mode(payload json.RawMessage) {
	p.Set(p.session.topics.Mode(), payload)
	if prefix := p.session.opts.HomeAssistant; prefix != "" {
		state, err := homeassistant.PanelState(payload)
		if err != nil {
			p.session.log.Error("the mode for Home Assistant's panel", "err", err)
			return
		}
		p.Set(homeassistant.PanelStateTopic(prefix, p.session.opts.Room), []byte(state))
	}
}

// Alarm implements gateway.PanelSink.
func (p *Retained) Alarm(id string, payload json.RawMessage) {
	p.Set(p.session.topics.Alarm(id), payload)
}

// SealReport implements gateway.PanelSink.
func (p *Retained) SealReport(id string, payload json.RawMessage) {
	p.Set(p.session.topics.SealReport(id), payload)
}

// Occupancy implements gateway.AccessSink.
func (p *Retained) Occupancy(payload json.RawMessage) { p.Set(p.session.topics.Occupancy(), payload) }

// Calldown publishes the call-down in force: who is told of which alarms.
func (p *Retained) Calldown(payload json.RawMessage) { p.Set(p.session.topics.Calldown(), payload) }

// Personnel publishes the version of the register the room holds.
func (p *Retained) Personnel(payload json.RawMessage) { p.Set(p.session.topics.Personnel(), payload) }

// CarrierRegister publishes the version of the carrier register the room holds.
func (p *Retained) CarrierRegister(payload json.RawMessage) {
	p.Set(p.session.topics.Carriers(), payload)
}

// CarrierState implements gateway.VaultSink (an empty payload clears it:
// the carrier left the register).
func (p *Retained) CarrierState(id string, payload []byte) {
	p.Set(p.session.topics.Carrier(id), payload)
}

// InventoryReport implements gateway.VaultSink.
func (p *Retained) InventoryReport(id string, payload []byte) {
	p.Set(p.session.topics.Inventory(id), payload)
}

func (p *Retained) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends.
func (p *Retained) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		if !p.session.WaitUp(ctx) {
			return
		}
		type msg struct {
			topic   string
			payload []byte
		}
		p.mu.Lock()
		var batch []msg
		for topic := range p.dirty {
			batch = append(batch, msg{topic, p.latest[topic]})
		}
		p.dirty = map[string]bool{}
		p.mu.Unlock()
		// Every message of the batch is sent, then their acknowledgements
		// awaited: one wait for the batch, not a round trip each.
		client := p.session.Client()
		toks := make([]paho.Token, len(batch))
		errs := make([]error, len(batch))
		seqs := make([]uint64, len(batch))
		for i, m := range batch {
			toks[i], seqs[i], errs[i] = p.session.send(client, m.topic, true, m.payload)
		}
		for i, m := range batch {
			err := errs[i]
			if err == nil {
				err = wire.Wait(toks[i])
			}
			if err != nil {
				p.session.log.Warn("retained state not sent; sent again at the next change or connection", "topic", m.topic, "err", err)
			}
			p.mu.Lock()
			if err == nil {
				p.proven = max(p.proven, seqs[i])
				if m.topic == p.session.topics.Head() {
					p.headed = max(p.headed, seqs[i])
				}
			}
			switch {
			case err != nil:
				if !p.dirty[m.topic] {
					p.dirty[m.topic] = true // the next connection sends it again
				}
			case len(m.payload) == 0 && len(p.latest[m.topic]) == 0 && !p.dirty[m.topic]:
				delete(p.latest, m.topic) // cleared on the broker; nothing to resend
			}
			p.mu.Unlock()
		}
	}
}

// What the room publishes retained goes through one Retained.
var (
	_ gateway.StateSink  = (*Retained)(nil)
	_ gateway.PanelSink  = (*Retained)(nil)
	_ gateway.AccessSink = (*Retained)(nil)
	_ gateway.VaultSink  = (*Retained)(nil)
)
