// Package mqtt links the dashboard to the rooms: it subscribes to every
// room on the broker, feeds their events and retained state to the replica,
// fills the replica's gaps by asking gateways to re-send, and carries the
// console's commands to the rooms and their replies back.
package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	gwmqtt "github.com/roomguard/roomguard/gateway/mqtt"
)

// Every room's topics, one subscription.
const allRooms = "roomguard/+/#"

// LinkOpts configures a link.
type LinkOpts struct {
	gwmqtt.Conn
	Store *sqlite.Store
	Clock gateway.Clock
	Log   *slog.Logger
	// Stored is told of the events the replica took, in order; State of
	// every retained state that changed. Both are called from the one
	// goroutine that feeds the replica, so they see things in the order
	// the broker delivered them; they must not block for long.
	Stored func([]dashboard.Record)
	State  func(dashboard.Retained)
	// GapGrace is how long a gap may wait for a late event before the
	// gateway is asked to re-send (default 2 s); CatchUp how often every
	// online room is asked for events after the last one held (default 1
	// min; also at every connection and when a room comes online).
	GapGrace time.Duration
	CatchUp  time.Duration
}

// Link is the dashboard's connection to the broker.
type Link struct {
	opts   LinkOpts
	client paho.Client
	log    *slog.Logger
	in     chan message
	kick   chan struct{} // wakes the gap filler
	done   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending map[string]chan []byte // replies awaited, by command id
	up      bool
	online  map[string]bool      // rooms whose status says online
	gapSeen map[string]time.Time // when each room's current gap (by its From) was first seen
	catchUp map[string]bool      // rooms to ask for the events after their last
}

type message struct {
	room, rest string
	payload    []byte
}

// Connect starts the link; it keeps reconnecting until Close.
func Connect(o LinkOpts) (*Link, error) {
	if o.GapGrace == 0 {
		o.GapGrace = 2 * time.Second
	}
	if o.CatchUp == 0 {
		o.CatchUp = time.Minute
	}
	if o.ClientID == "" {
		o.ClientID = "roomguard-dashboard-" + randomID()
	}
	l := &Link{opts: o, log: o.Log, in: make(chan message, 8192), kick: make(chan struct{}, 1), done: make(chan struct{}),
		pending: map[string]chan []byte{}, online: map[string]bool{}, gapSeen: map[string]time.Time{}, catchUp: map[string]bool{}}
	if l.log == nil {
		l.log = slog.Default()
	}
	po, err := o.Conn.ClientOptions()
	if err != nil {
		return nil, err
	}
	po.SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).
		SetOrderMatters(true). // the handler only queues: broker order is kept into the replica
		SetOnConnectHandler(l.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			l.log.Warn("mqtt connection lost", "err", err)
			l.setUp(false)
		})
	l.client = paho.NewClient(po)
	l.wg.Add(2)
	go l.feed()
	go l.fill()
	l.client.Connect() // with ConnectRetry it returns at once and keeps trying
	return l, nil
}

// Close disconnects and stops.
func (l *Link) Close() {
	l.client.Disconnect(250)
	close(l.done)
	l.wg.Wait()
}

// Connected tells whether the link has the broker now.
func (l *Link) Connected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.up
}

func (l *Link) setUp(up bool) {
	l.mu.Lock()
	l.up = up
	l.mu.Unlock()
}

func (l *Link) onConnect(c paho.Client) {
	l.log.Info("mqtt connected; subscribing to every room")
	tok := c.Subscribe(allRooms, 1, func(_ paho.Client, m paho.Message) { l.receive(m.Topic(), m.Payload()) })
	go func() {
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			l.log.Error("mqtt subscribe failed", "filter", allRooms, "err", tok.Error())
			c.Disconnect(0) // reconnect and try again
			return
		}
		l.setUp(true)
		l.mu.Lock()
		for room := range l.online {
			l.catchUp[room] = true
		}
		l.mu.Unlock()
		l.wake()
	}()
}

// receive sorts a message by topic: replies go to their caller, the rest to
// the replica's feed in arrival order.
func (l *Link) receive(topic string, payload []byte) {
	parts := strings.SplitN(topic, "/", 3)
	if len(parts) < 3 || parts[0] != "roomguard" {
		return
	}
	room, rest := parts[1], parts[2]
	if id, ok := strings.CutPrefix(rest, "reply/"); ok {
		l.mu.Lock()
		ch := l.pending[id]
		l.mu.Unlock()
		if ch != nil {
			select {
			case ch <- payload:
			default:
			}
		}
		return
	}
	if rest != "events" && kindOf(rest) == "" {
		return // commands, simulation inputs
	}
	select {
	case l.in <- message{room: room, rest: rest, payload: payload}:
	case <-l.done:
	}
}

// kindOf maps a state topic (after roomguard/<room>/) to its retained kind.
func kindOf(rest string) string {
	switch rest {
	case "status", "mode", "occupancy", "personnel", "carriers":
		return rest
	}
	kind, _, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	switch kind {
	case "devices", "alarms", "inventories", "seal-reports":
		return kind
	case "carriers":
		return "carrier"
	}
	return ""
}

// feed is the one goroutine that writes what arrives into the replica:
// events in batches (one transaction each), state as it comes.
func (l *Link) feed() {
	defer l.wg.Done()
	var batch []sqlite.Message
	flush := func() {
		if len(batch) == 0 {
			return
		}
		res, err := l.opts.Store.Ingest(batch)
		batch = batch[:0]
		if err != nil {
			l.log.Error("replica: events not stored; the gap filler will ask for them again", "err", err)
			return
		}
		for _, r := range res.Rejected {
			l.log.Warn("replica: event refused", "room", r.Room, "reason", r.Reason)
		}
		if res.Conflicts > 0 {
			l.log.Error("replica: events whose seq is held with another id (was a gateway's log replaced?)", "count", res.Conflicts)
		}
		for _, r := range res.Stored {
			if r.Type == "alarm.closed" {
				l.closeAlarm(r)
			}
		}
		if len(res.Stored) > 0 && l.opts.Stored != nil {
			l.opts.Stored(res.Stored)
		}
		if len(l.opts.Store.Gaps()) > 0 {
			l.wake()
		}
	}
	for {
		var m message
		select {
		case m = <-l.in:
		case <-l.done:
			flush()
			return
		}
		for {
			if m.rest == "events" {
				batch = append(batch, sqlite.Message{Room: m.room, Payload: m.payload})
			} else {
				flush()
				l.state(m)
			}
			if len(batch) >= 1000 {
				flush()
			}
			select {
			case m = <-l.in:
				continue
			default:
			}
			break
		}
		flush()
	}
}

// state keeps a retained state message.
func (l *Link) state(m message) {
	kind := kindOf(m.rest)
	_, key, _ := strings.Cut(m.rest, "/")
	r := dashboard.Retained{Room: m.room, Kind: kind, Key: key, Payload: m.payload, Updated: l.opts.Clock.Now()}
	if kind == "status" {
		var st gwmqtt.Status
		if json.Unmarshal(m.payload, &st) == nil {
			if st.Name != "" {
				if err := l.opts.Store.SetRoomName(m.room, st.Name); err != nil {
					l.log.Error("replica: room name", "room", m.room, "err", err)
				}
			}
			l.mu.Lock()
			was := l.online[m.room]
			l.online[m.room] = st.State == "online"
			if st.State == "online" && !was {
				l.catchUp[m.room] = true // events may have been logged while it was away from this broker
			}
			l.mu.Unlock()
			l.wake()
		}
	}
	l.keep(r)
}

func (l *Link) keep(r dashboard.Retained) {
	changed, err := l.opts.Store.SetRetained(r)
	if err != nil {
		l.log.Error("replica: state not stored", "room", r.Room, "kind", r.Kind, "key", r.Key, "err", err)
		return
	}
	if changed && l.opts.State != nil {
		l.opts.State(r)
	}
}

// closeAlarm forgets a closed alarm's retained state: the gateway clears the
// topic, but a clearing is not retained by the broker, so a dashboard that
// was away would otherwise keep it open.
func (l *Link) closeAlarm(r dashboard.Record) {
	var d struct {
		Alarm string `json:"alarm"`
	}
	if json.Unmarshal(r.Data, &d) != nil || d.Alarm == "" {
		return
	}
	l.keep(dashboard.Retained{Room: r.Room, Kind: "alarms", Key: d.Alarm, Updated: l.opts.Clock.Now()})
}

func (l *Link) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Call sends a command to a room and waits for its reply. The error is
// either about getting there and back, or the room's refusal (a
// *gateway.Error whose message says why).
func (l *Link) Call(ctx context.Context, room, name string, args map[string]any) (map[string]any, error) {
	id := "dash-" + randomID()
	cmd := map[string]any{}
	for k, v := range args {
		cmd[k] = v
	}
	cmd["id"] = id
	payload, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	ch := make(chan []byte, 1)
	l.mu.Lock()
	l.pending[id] = ch
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.pending, id)
		l.mu.Unlock()
	}()
	if !l.Connected() {
		return nil, gateway.Errorf(gateway.EINTERNAL, "the dashboard is not connected to the broker")
	}
	tok := l.client.Publish(gwmqtt.Topics{Room: room}.Root()+"/cmd/"+name, 1, false, payload)
	select {
	case <-tok.Done():
		if tok.Error() != nil {
			return nil, fmt.Errorf("send %s to %s: %w", name, room, tok.Error())
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("send %s to %s: %w", name, room, ctx.Err())
	}
	select {
	case p := <-ch:
		var r gwmqtt.Reply
		if err := json.Unmarshal(p, &r); err != nil {
			return nil, fmt.Errorf("unreadable reply to %s from %s: %w", name, room, err)
		}
		if err := r.Err(); err != nil {
			code := gateway.ECONFLICT
			if r.Error != nil && r.Error.Code != "" {
				code = r.Error.Code
			}
			return r.Result, &gateway.Error{Code: code, Message: err.Error()}
		}
		return r.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("no reply to %s from room %s (is its gateway online?): %w", name, room, ctx.Err())
	}
}

func randomID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
