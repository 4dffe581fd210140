package mqtt

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// SessionOpts configures a session.
type SessionOpts struct {
	wire.Conn

	Room     string
	Name     string
	Location string // said in the online status (a console groups by it)
	Version  string
	Sim      bool
	Clock    gateway.Clock
	Log      *slog.Logger
	// Prover signs the status, the last will, the retained state and the
	// replies with the room's key (nil: unsigned, for tests of other things).
	Prover *Prover
	// Names are the devices' names by id, said in the online status.
	Names map[string]string
	// Holidays are the room's holiday calendar, said in the online status.
	Holidays []wire.StatusHoliday
	// HomeAssistant is the discovery prefix when the room is described to
	// Home Assistant ("" when not): the alarm panel's state follows the
	// mode there.
	HomeAssistant string
}

// KeepAlive is how often the room says it is alive: the MQTT keepalive.
func (s *Session) KeepAlive() time.Duration { return s.opts.KeepAliveOrDefault() }

// Session is the gateway's connection to its broker.
type Session struct {
	opts   SessionOpts
	topics wire.Topics
	po     *paho.ClientOptions
	log    *slog.Logger

	mu      sync.Mutex
	client  paho.Client   // a new one for every connection
	epoch   uint64        // counts successful connections
	up      bool          // connected now
	changed chan struct{} // closed and replaced on every change of up/epoch
	lost    chan struct{}
	subs    []subscription
	onUp    []func(epoch uint64)
}

type subscription struct {
	filter  string
	handler func(topic string, payload []byte)
}

// NewSession prepares a session; Run connects it.
func NewSession(o SessionOpts) (*Session, error) {
	s := &Session{opts: o, topics: wire.Topics{Room: o.Room}, log: o.Log, changed: make(chan struct{}), lost: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.Default()
	}
	po, err := o.Conn.ClientOptions()
	if err != nil {
		return nil, err
	}
	po.SetConnectionLostHandler(func(_ paho.Client, err error) {
		s.log.Warn("mqtt connection lost", "err", err)
		s.setUp(false)
		select {
		case s.lost <- struct{}{}:
		default:
		}
	})
	s.po = po
	s.client = paho.NewClient(po)
	return s, nil
}

// Client is the paho client of the present connection.
func (s *Session) Client() paho.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

// wire.Topics are the session's room topics.
func (s *Session) Topics() wire.Topics { return s.topics }

// Subscribe registers a subscription, made on every connection. The handler
// runs in its own goroutine and must not assume order.
func (s *Session) Subscribe(filter string, handler func(topic string, payload []byte)) {
	s.mu.Lock()
	s.subs = append(s.subs, subscription{filter, handler})
	s.mu.Unlock()
}

// OnUp registers f to be called (in the session goroutine) after every
// connection, before publishers are told the session is up.
func (s *Session) OnUp(f func(epoch uint64)) {
	s.mu.Lock()
	s.onUp = append(s.onUp, f)
	s.mu.Unlock()
}

// State reports the current epoch, whether the session is up, and a channel
// closed at the next change.
func (s *Session) State() (epoch uint64, up bool, changed <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch, s.up, s.changed
}

// WaitUp returns once the session is up (true), or when ctx ends (false).
func (s *Session) WaitUp(ctx context.Context) bool {
	for {
		_, up, changed := s.State()
		if up {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-changed:
		}
	}
}

func (s *Session) setUp(up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if up {
		s.epoch++
	}
	if s.up == up && !up {
		return
	}
	s.up = up
	close(s.changed)
	s.changed = make(chan struct{})
}

// Run connects, and reconnects after every loss with a growing backoff, until
// ctx ends; then it publishes the offline status and disconnects.
func (s *Session) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		if ctx.Err() != nil {
			break
		}
		if err := s.connect(); err != nil {
			s.log.Warn("mqtt connect failed", "broker", s.opts.URL, "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			if backoff *= 2; backoff > 5*time.Second {
				backoff = 5 * time.Second
			}
			continue
		}
		backoff = 100 * time.Millisecond
		select {
		case <-ctx.Done():
		case <-s.lost:
		}
	}
	client := s.Client()
	if client.IsConnectionOpen() {
		offline, err := json.Marshal(wire.Status{State: "offline", Room: s.opts.Room, Name: s.opts.Name,
			Since: s.opts.Clock.Now().Format(gateway.TimeFormat), Reason: "shutdown"})
		if err == nil {
			err = s.publish(client, s.topics.Status(), true, offline)
		}
		if err != nil {
			s.log.Warn("offline status not sent; the last will says it", "err", err)
		}
	}
	s.setUp(false)
	client.Disconnect(250)
}

func (s *Session) connect() error {
	select { // a loss reported for an earlier connection is stale now
	case <-s.lost:
	default:
	}
	// A fresh client for every connection: paho may otherwise send, on the
	// new connection, a publish queued while the old one was dropping —
	// ahead of the outbox's resend from its cursor, out of seq order.
	s.Client().Disconnect(0)
	// The last will is signed at every connection, as of the head then: a
	// console tells it from a forged "offline", and an "online" of this
	// connection (same head, same since) from a replay after it.
	since := s.opts.Clock.Now().Format(gateway.TimeFormat)
	will, err := json.Marshal(wire.Status{State: "offline", Room: s.opts.Room, Since: since, Reason: "connection lost"})
	if err == nil {
		will, err = s.prove(s.topics.Status(), will)
	}
	if err != nil {
		return fmt.Errorf("the last will: %w", err)
	}
	s.po.SetBinaryWill(s.topics.Status(), will, 1, true)
	client := paho.NewClient(s.po)
	tok := client.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return fmt.Errorf("timed out")
	}
	if err := tok.Error(); err != nil {
		return err
	}
	s.mu.Lock()
	s.client = client
	subs := append([]subscription(nil), s.subs...)
	onUp := append([]func(uint64){}, s.onUp...)
	next := s.epoch + 1
	s.mu.Unlock()
	for _, sub := range subs {
		h := sub.handler
		if err := wire.Wait(client.Subscribe(sub.filter, 1, func(_ paho.Client, m paho.Message) { h(m.Topic(), m.Payload()) })); err != nil {
			client.Disconnect(0)
			return fmt.Errorf("subscribe %s: %w", sub.filter, err)
		}
	}
	// Online only once the commands are subscribed: a dashboard that sees
	// the room online may send it a command at once.
	sim := s.opts.Sim
	st := wire.Status{State: "online", Room: s.opts.Room, Name: s.opts.Name, Location: s.opts.Location, Version: s.opts.Version, Sim: &sim, Since: since,
		KeepAlive: int(s.KeepAlive().Seconds()), Names: s.opts.Names, Holidays: s.opts.Holidays}
	if s.opts.Prover != nil {
		st.Key = s.opts.Prover.Public()
	}
	online, err := json.Marshal(st)
	if err == nil {
		err = s.publish(client, s.topics.Status(), true, online)
	}
	if err != nil {
		client.Disconnect(0)
		return fmt.Errorf("publish status: %w", err)
	}
	for _, f := range onUp {
		f(next)
	}
	s.setUp(true)
	s.log.Info("mqtt connected", "broker", s.opts.URL, "client_id", s.opts.ClientID)
	return nil
}
