// Package mqtt links the dashboard to the rooms: it subscribes to every
// room on the broker, feeds their events and retained state to the replica,
// fills the replica's gaps by asking gateways to re-send, and carries the
// console's commands to the rooms and their replies back.
package mqtt

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	gwmqtt "github.com/roomguard/roomguard/gateway/mqtt"
)

// roomTopics are what the console reads of every room (after
// roomguard/+/): its events, its retained state and the replies. Re-sent
// events come on resend/<requester>, this console's own.
var roomTopics = []string{"events", "status", "mode", "occupancy", "personnel", "carriers", "carriers/+",
	"devices/+", "alarms/+", "inventories/+", "seal-reports/+", "reply/+"}

// requesterID makes the console's account (its client id on a broker with
// use_username_as_clientid, and what the shipped ACL lets it read re-sent
// events under), or else its client id, a topic segment the gateway takes as a
// requester (^[A-Za-z0-9._-]{1,64}$).
func requesterID(clientID string) string {
	b := []byte(clientID)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b[:min(len(b), 64)])
}

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
	// Signer signs every command the console sends (a room believes no
	// other); nil sends them unsigned, for a simulated room that takes them.
	Signer *gwmqtt.Signer
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

	requester string // this console's topic segment for re-sent events

	// received counts the messages queued for the feed, fed those it has
	// taken in: a request's events are in the replica once fed reaches
	// what received was when its reply came.
	received, fed atomic.Uint64

	mu        sync.Mutex
	pending   map[string]func([]byte) // what to do with a reply, by command id
	up        bool
	online    map[string]bool      // rooms whose status says online
	gapSeen   map[string]time.Time // when each room's current gap (by its From) was first seen
	catchUp   map[string]bool      // rooms to ask for the events after their last
	inflight  map[string]*request  // the re-send each room was asked for and has not fully delivered
	notBefore map[string]time.Time // rooms not to be asked again before then
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
		requester: requesterID(cmp.Or(o.Username, o.ClientID)), pending: map[string]func([]byte){}, online: map[string]bool{},
		gapSeen: map[string]time.Time{}, catchUp: map[string]bool{}, inflight: map[string]*request{}, notBefore: map[string]time.Time{}}
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
	filters := map[string]byte{"roomguard/+/resend/" + l.requester: 1}
	for _, t := range roomTopics {
		filters["roomguard/+/"+t] = 1
	}
	tok := c.SubscribeMultiple(filters, func(_ paho.Client, m paho.Message) { l.receive(m.Topic(), m.Payload()) })
	go func() {
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			l.log.Error("mqtt subscribe failed", "err", tok.Error())
			c.Disconnect(0) // reconnect and try again
			return
		}
		l.setUp(true)
		l.mu.Lock()
		for room := range l.online {
			l.catchUp[room] = true
		}
		for room, r := range l.inflight { // lost with the connection, maybe
			delete(l.inflight, room)
			delete(l.pending, r.id)
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
		take := l.pending[id]
		l.mu.Unlock()
		if take != nil {
			take(payload)
		}
		return
	}
	if rest == "resend/"+l.requester {
		rest = "events" // asked for by this console: the same events, byte for byte
	}
	if rest != "events" && kindOf(rest) == "" {
		return // commands, simulation inputs, others' re-sends
	}
	select {
	case l.in <- message{room: room, rest: rest, payload: payload}:
		l.received.Add(1)
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
		defer l.took(len(batch))
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
				l.took(1)
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

// took counts n messages the feed has taken in, and wakes the gap filler
// when it may have something to do: a gap to ask for, a request whose
// events may now all be in, a catch-up that waited for the feed.
func (l *Link) took(n int) {
	l.fed.Add(uint64(n))
	l.mu.Lock()
	waiting := len(l.inflight) > 0 || len(l.catchUp) > 0
	l.mu.Unlock()
	if waiting || len(l.opts.Store.Gaps()) > 0 {
		l.wake()
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
	payload, err := l.seal(room, name, cmd)
	if err != nil {
		return nil, err
	}
	ch := make(chan []byte, 1)
	l.mu.Lock()
	l.pending[id] = func(p []byte) {
		select {
		case ch <- p:
		default:
		}
	}
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

// seal makes a command's payload: its JSON, signed when the link has a
// signer.
func (l *Link) seal(room, name string, cmd map[string]any) ([]byte, error) {
	payload, err := json.Marshal(cmd)
	if err != nil || l.opts.Signer == nil {
		return payload, err
	}
	return l.opts.Signer.Sign(room, name, payload)
}

func randomID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
