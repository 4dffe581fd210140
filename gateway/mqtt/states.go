package mqtt

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/roomguard/roomguard/gateway"
)

// StatePublisher keeps every device's latest state retained on
// roomguard/<room>/devices/<id>. DeviceState never blocks: it records the
// state and wakes the publishing goroutine; intermediate states of a device
// that changes faster than the broker takes them are skipped (the events
// carry every change; the retained message is only the present).
type StatePublisher struct {
	session *Session

	mu     sync.Mutex
	latest map[string]gateway.DeviceState
	dirty  map[string]bool
	wake   chan struct{}
}

// NewStatePublisher returns a state publisher on session; every reconnection
// re-publishes all states.
func NewStatePublisher(s *Session) *StatePublisher {
	p := &StatePublisher{session: s, latest: map[string]gateway.DeviceState{}, dirty: map[string]bool{}, wake: make(chan struct{}, 1)}
	s.OnUp(func(uint64) {
		p.mu.Lock()
		for id := range p.latest {
			p.dirty[id] = true
		}
		p.mu.Unlock()
		p.signal()
	})
	return p
}

// DeviceState implements gateway.StateSink.
func (p *StatePublisher) DeviceState(st gateway.DeviceState) {
	p.mu.Lock()
	p.latest[st.Device] = st
	p.dirty[st.Device] = true
	p.mu.Unlock()
	p.signal()
}

func (p *StatePublisher) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends.
func (p *StatePublisher) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for {
			_, up, changed := p.session.State()
			if up {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
		p.mu.Lock()
		var batch []gateway.DeviceState
		for id := range p.dirty {
			batch = append(batch, p.latest[id])
		}
		p.dirty = map[string]bool{}
		p.mu.Unlock()
		for _, st := range batch {
			b, _ := json.Marshal(st)
			if err := wait(p.session.client.Publish(p.session.topics.Device(st.Device), 1, true, b)); err != nil {
				p.mu.Lock()
				if _, newer := p.dirty[st.Device]; !newer {
					p.dirty[st.Device] = true // the next connection sends it again
				}
				p.mu.Unlock()
			}
		}
	}
}
