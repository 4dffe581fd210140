package mqtt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/wire"
)

const room = "rig-room"

// rig is a room's log, session and publishers against a real broker.
type rig struct {
	t       testing.TB
	store   *sqlite.Store
	session *mqtt.Session
	states  *mqtt.Retained
	clock   *clocktest.Clock
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newRig(t testing.TB, brokerURL string) *rig {
	t.Helper()
	clock := clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "log.db"), room, clock)
	if err != nil {
		t.Fatal(err)
	}
	session, err := mqtt.NewSession(mqtt.SessionOpts{Conn: wire.Conn{URL: brokerURL, ClientID: "rig-gw", KeepAlive: 5 * time.Second},
		Room: room, Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, store: store, session: session, states: mqtt.NewRetained(session), clock: clock}
	t.Cleanup(r.stop)
	return r
}

// start runs the session and the publishers.
func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	pub := mqtt.NewPublisher(r.session, r.store)
	r.wg.Add(4)
	go func() { defer r.wg.Done(); r.session.Run(ctx) }()
	go func() { defer r.wg.Done(); pub.Run(ctx) }()
	go func() { defer r.wg.Done(); r.states.Run(ctx) }()
	go func() { defer r.wg.Done(); r.states.Heartbeat(ctx) }()
}

func (r *rig) stop() {
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
		r.cancel = nil
	}
	r.store.Close()
}

// appendN logs n events in batches.
func (r *rig) appendN(n, batch int) {
	r.t.Helper()
	evs := make([]gateway.Event, 0, batch)
	for i := 0; i < n; i++ {
		evs = append(evs, gateway.Event{Type: "door.opened", Severity: gateway.SeverityInfo, Device: "door-main"})
		if len(evs) == batch || i == n-1 {
			if _, err := r.store.Append(evs...); err != nil {
				r.t.Fatal(err)
			}
			evs = evs[:0]
		}
	}
}

// eventSub is a consumer of a room's events with a persistent session, as
// the dashboard is: it records every arrival and the distinct seqs.
type eventSub struct {
	client paho.Client

	mu       sync.Mutex
	arrivals []uint64 // seqs in arrival order, duplicates included
	seen     map[uint64]string
	retained map[string][]byte
	changed  chan struct{}
}

func subscribeEvents(t testing.TB, brokerURL, clientID string) *eventSub {
	t.Helper()
	s := &eventSub{seen: map[uint64]string{}, retained: map[string][]byte{}, changed: make(chan struct{}, 1)}
	handle := func(_ paho.Client, m paho.Message) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if m.Retained() || m.Topic() != "roomguard/"+room+"/events" {
			s.retained[m.Topic()] = m.Payload()
		} else {
			var e struct {
				Seq uint64 `json:"seq"`
				ID  string `json:"id"`
			}
			if err := json.Unmarshal(m.Payload(), &e); err != nil {
				panic(fmt.Sprintf("bad event %q: %v", m.Payload(), err))
			}
			s.arrivals = append(s.arrivals, e.Seq)
			s.seen[e.Seq] = e.ID
		}
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
	opts := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(clientID).SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(100 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).SetOrderMatters(true)
	// A persistent session gets its queued messages right after CONNACK,
	// before a subscription made in the connect handler has registered its
	// route; paho acknowledges and drops a message with no route, so the
	// default handler must take them.
	opts.SetDefaultPublishHandler(handle)
	opts.SetOnConnectHandler(func(c paho.Client) { c.Subscribe("roomguard/"+room+"/#", 1, handle) })
	s.client = paho.NewClient(opts)
	if tok := s.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { s.client.Disconnect(50) })
	return s
}

// waitSeqs waits until the subscriber has seen every seq 1..n, or max passes.
func (s *eventSub) waitSeqs(n int, max time.Duration) bool {
	deadline := time.After(max)
	for {
		s.mu.Lock()
		have := len(s.seen)
		s.mu.Unlock()
		if have >= n {
			return true
		}
		select {
		case <-s.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			return false
		}
	}
}

// check verifies that the distinct seqs are exactly 1..n and, when strict,
// that apart from redeliveries after a loss they arrived in order: every
// arrival is either the next new seq or a repeat of one already seen. It
// returns how many arrivals were repeats.
func (s *eventSub) check(t testing.TB, n int, strict bool) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) != n {
		t.Fatalf("%d distinct events, want %d", len(s.seen), n)
	}
	for seq := uint64(1); seq <= uint64(n); seq++ {
		if _, ok := s.seen[seq]; !ok {
			t.Fatalf("seq %d missing", seq)
		}
	}
	next := uint64(1)
	for i, seq := range s.arrivals {
		switch {
		case seq == next:
			next++
		case seq < next:
		case strict:
			t.Fatalf("arrival %d is seq %d before seq %d: out of order", i, seq, next)
		default:
			next = seq + 1
		}
	}
	return len(s.arrivals) - len(s.seen)
}

// proxy forwards TCP connections to a broker; Cut drops every connection
// through it, as a network outage between the gateway and the broker would,
// while the broker and its other clients carry on.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: strings.TrimPrefix(target, "tcp://")}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.Cut() })
	return p
}

func (p *proxy) URL() string { return "tcp://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, b)
		p.mu.Unlock()
		go func() { io.Copy(b, c); b.Close() }()
		go func() { io.Copy(c, b); c.Close() }()
	}
}

// Cut closes every connection through the proxy.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
