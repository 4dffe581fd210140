// Package mqtt links the dashboard to the rooms: it subscribes to every
// room on the broker, feeds their events and retained state to the replica,
// fills the replica's gaps by asking gateways to re-send, and carries the
// console's commands to the rooms and their replies back.
package mqtt

import (
	"cmp"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// roomTopics are what the console reads of every room (after
// roomguard/+/): its events, its retained state and the replies. Re-sent
// events come on resend/<requester>, this console's own.
var roomTopics = []string{"events", "status", "head", "mode", "occupancy", "personnel", "carriers", "carriers/+", "calldown",
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
	wire.Conn
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
	Signer *wire.Signer
	// Linger is how long the feed waits for more before it commits what it
	// took, a batch never held past 5 lingers (issue 33: a building's live
	// events and their states, one transaction a burst). 0 or negative:
	// commit as soon as nothing waits (an event and the states that came
	// with it are one transaction either way).
	Linger time.Duration
	// Peers, when set, rides this connection: its will is the link's, and
	// it is told of every connection (two consoles on one broker: each
	// console has one broker account, one connection).
	Peers *PeerLink
}

// Link is the dashboard's connection to the broker.
type Link struct {
	opts   LinkOpts
	client paho.Client
	log    *slog.Logger
	in     chan message
	// old holds the events re-sent at this console's request, which the
	// feed takes only when nothing live waits (issue 33: a catch-up of a
	// day's events never holds a live alarm back); its room bounds what
	// may be asked at once (resendsInFlight × resendMax).
	old  chan message
	kick chan struct{} // wakes the gap filler
	done chan struct{}
	wg   sync.WaitGroup

	requester string // this console's topic segment for re-sent events

	// received counts the messages queued for the feed, fed those it has
	// taken in; receivedOld and fedOld the same of the re-sent events: a
	// request's events are in the replica once fedOld reaches what
	// receivedOld was when its reply came.
	received, fed, receivedOld, fedOld atomic.Uint64

	mu        sync.Mutex
	pending   map[string]func([]byte) // what to do with a reply, by command id
	up        bool
	online    map[string]bool      // rooms whose status says online
	gapSeen   map[string]time.Time // when each room's current gap (by its From) was first seen
	catchUp   map[string]bool      // rooms to ask for the events after their last
	inflight  map[string]*request  // the re-send each room was asked for and has not fully delivered
	notBefore map[string]time.Time // rooms not to be asked again before then

	// The rooms an admin pinned the key of, and what the console believes
	// of each (issue 18): events only once the room vouched for them, state
	// and replies only under its signature.
	wmu         sync.Mutex
	keys        map[string]ed25519.PublicKey
	witness     map[string]*dashboard.Witness // the feed's
	expectSince map[string]time.Time          // the feed's: since when a room vouched for events not here yet
	batch       []sqlite.Message              // the feed's: events to store
	states      []dashboard.Retained          // the feed's: device states, mode and occupancy to store with them
	stateAt     map[string]int                // the feed's: each of states by room, kind and key

	// The feed's: when each room was last heard (anything it said, believed),
	// how often it promised to speak (its status's keepalive), and whether
	// its room-silent alarm is raised (unknown: not looked up yet).
	heard   map[string]time.Time
	headAt  map[string]string // the feed's: the time of the last head heard
	beat    map[string]time.Duration
	silent  map[string]bool
	wasDown bool

	umu     sync.Mutex
	unknown map[string]uint64 // messages for rooms nobody added, by room id (unknownRoom)
}

type message struct {
	room, rest string
	payload    []byte
	old        bool          // re-sent at this console's request (Link.old)
	proof      gateway.Proof // rest "anchor": a reply's verified proof; rest "lost": through Seq
	forged     string        // rest "forged/<topic>": why it is not the room's
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
	l := &Link{opts: o, log: o.Log, in: make(chan message, 8192), old: make(chan message, resendsInFlight*resendMax+1024), kick: make(chan struct{}, 1), done: make(chan struct{}),
		requester: requesterID(cmp.Or(o.Username, o.ClientID)), pending: map[string]func([]byte){}, online: map[string]bool{},
		gapSeen: map[string]time.Time{}, catchUp: map[string]bool{}, inflight: map[string]*request{}, notBefore: map[string]time.Time{},
		keys: map[string]ed25519.PublicKey{}, witness: map[string]*dashboard.Witness{}, expectSince: map[string]time.Time{},
		heard: map[string]time.Time{}, headAt: map[string]string{}, beat: map[string]time.Duration{}, silent: map[string]bool{},
		stateAt: map[string]int{}}
	if l.log == nil {
		l.log = slog.Default()
	}
	keys, err := o.Store.RoomKeys()
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.Pinned != "" {
			if l.keys[k.Room], err = gateway.ParsePublicKey(k.Pinned); err != nil {
				return nil, fmt.Errorf("room %s: the pinned key: %w", k.Room, err)
			}
		}
	}
	po, err := o.Conn.ClientOptions()
	if err != nil {
		return nil, err
	}
	if o.Peers != nil {
		topic, payload := o.Peers.will()
		po.SetBinaryWill(topic, payload, 1, true)
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
	if o.Peers != nil {
		o.Peers.start(l.client)
	}
	l.wg.Add(2)
	go l.feed()
	go l.fill()
	l.client.Connect() // with ConnectRetry it returns at once and keeps trying
	return l, nil
}

// Close disconnects and stops (its peers first: they say so).
func (l *Link) Close() {
	if l.opts.Peers != nil {
		l.opts.Peers.close()
	}
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
		if l.opts.Peers != nil {
			l.opts.Peers.onConnect(c)
		}
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
	if _, ok := l.opts.Store.Watched(room); !ok {
		// Not a room an admin added (issue 27): anyone on the broker can
		// invent one. Counted, never shown.
		l.unknownRoom(room)
		return
	}
	if id, ok := strings.CutPrefix(rest, "reply/"); ok {
		if key := l.key(room); key != nil {
			_, proof, err := gateway.OpenProof(key, room, rest, payload)
			if err != nil { // not the room's answer: the caller waits for the real one
				l.queue(message{room: room, rest: "forged/" + rest, payload: payload, forged: "a reply the room's key did not sign: " + err.Error()})
				return
			}
			l.queue(message{room: room, rest: "anchor", proof: proof})
		}
		l.mu.Lock()
		take := l.pending[id]
		l.mu.Unlock()
		if take != nil {
			take(payload)
		}
		return
	}
	if rest == "resend/"+l.requester {
		// asked for by this console: the same events, byte for byte, taken
		// when nothing live waits
		l.queue(message{room: room, rest: "events", payload: payload, old: true})
		return
	}
	if rest != "events" && kindOf(rest) == "" {
		return // commands, simulation inputs, others' re-sends
	}
	l.queue(message{room: room, rest: rest, payload: payload})
}

// unknownRooms bounds the room ids counted apart: a flood can invent a new
// one with every message.
const unknownRooms = 64

// unknownRoom counts a message for a room nobody added; the first of each
// id is logged.
func (l *Link) unknownRoom(room string) {
	l.umu.Lock()
	defer l.umu.Unlock()
	if l.unknown == nil {
		l.unknown = map[string]uint64{}
	}
	if _, seen := l.unknown[room]; !seen {
		if len(l.unknown) >= unknownRooms {
			room = "(others)"
		} else {
			l.log.Warn("traffic for a room not added to this console: counted, not shown (add it on the rooms page)", "room", room)
		}
	}
	l.unknown[room]++
}

// Unknown is how many messages came for each room id nobody added.
func (l *Link) Unknown() map[string]uint64 {
	l.umu.Lock()
	defer l.umu.Unlock()
	return maps.Clone(l.unknown)
}

// queue hands a message to the feed.
func (l *Link) queue(m message) {
	in, received := l.in, &l.received
	if m.old {
		in, received = l.old, &l.receivedOld
	}
	select {
	case in <- m:
		received.Add(1)
	case <-l.done:
	}
}

// kindOf maps a state topic (after roomguard/<room>/) to its retained kind.
func kindOf(rest string) string {
	switch rest {
	case "status", "mode", "occupancy", "personnel", "carriers", "head", "calldown":
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
// events in batches (one transaction each), state as it comes. For a room
// whose key is pinned it first checks each against the room's word
// (issue 18): events go through the room's witness, state and replies must
// carry the room's proof, and what does not is quarantined.
func (l *Link) feed() {
	defer l.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	consumed, consumedOld := 0, 0
	var since time.Time // when the batch's first message came
	flush := func() {
		if len(l.batch) > 0 || len(l.states) > 0 {
			l.store()
		}
		since = time.Time{}
		if consumed > 0 || consumedOld > 0 {
			l.took(consumed, consumedOld)
			consumed, consumedOld = 0, 0
		}
	}
	// next is the next message, a live one first; a re-sent one only while
	// the batch holds fewer than oldPerBatch of them (a live event waits
	// at most for one such batch's commit).
	next := func() (message, bool) {
		select {
		case m := <-l.in:
			return m, true
		default:
		}
		if consumedOld < oldPerBatch {
			select {
			case m := <-l.old:
				return m, true
			default:
			}
		}
		return message{}, false
	}
	for {
		var m message
		select {
		case m = <-l.in:
		default:
			select {
			case m = <-l.in:
			case m = <-l.old:
			case <-tick.C:
				l.sweep()
				flush()
				continue
			case <-l.done:
				flush()
				return
			}
		}
		for {
			switch {
			case m.rest == "events":
				l.event(m)
			case batched(m.rest):
				l.state(m)
			default:
				flush() // what the events so far may decide (an alarm closed, a head, a key)
				l.state(m)
			}
			if m.old {
				consumedOld++
			} else {
				consumed++
			}
			if since.IsZero() {
				since = time.Now()
			}
			if len(l.batch)+len(l.states) >= 1000 || consumedOld >= oldPerBatch {
				flush()
			}
			var ok bool
			if m, ok = next(); ok {
				continue
			}
			if l.opts.Linger > 0 && consumed > 0 && time.Since(since) < 5*l.opts.Linger {
				linger.Reset(l.opts.Linger)
				select {
				case m = <-l.in:
					linger.Stop()
					continue
				case <-linger.C:
				case <-l.done:
					linger.Stop()
				}
			}
			break
		}
		flush()
	}
}

// batched tells whether a state topic (after roomguard/<room>/) is stored
// with the events around it, after them: the states every live event
// brings (its device's, the mode, who is inside), which nothing the feed
// decides later reads back.
func batched(rest string) bool {
	switch kindOf(rest) {
	case "devices", "mode", "occupancy":
		return true
	}
	return false
}

// later keeps r to be stored with the batch (the feed's), replacing one of
// the same room, kind and key taken since.
func (l *Link) later(r dashboard.Retained) {
	k := r.Room + "\x00" + r.Kind + "\x00" + r.Key
	if i, ok := l.stateAt[k]; ok {
		l.states[i] = r
		return
	}
	l.stateAt[k] = len(l.states)
	l.states = append(l.states, r)
}

// held is the payload the replica holds for a state, counting the ones
// kept for the batch (the feed's).
func (l *Link) held(room, kind, key string) ([]byte, error) {
	if i, ok := l.stateAt[room+"\x00"+kind+"\x00"+key]; ok {
		return l.states[i].Payload, nil
	}
	return l.opts.Store.RetainedPayload(room, kind, key)
}

// store writes the batch of events into the replica.
func (l *Link) store() {
	var vouched []sqlite.Vouch
	for room, w := range l.witness {
		if w.Vouched() > 0 {
			vouched = append(vouched, sqlite.Vouch{Room: room, Seq: w.Vouched(), At: l.opts.Clock.Now()})
		}
	}
	// the chain's status and the states that came with the events in the same transaction
	res, changed, err := l.opts.Store.IngestWith(l.batch, l.states, vouched...)
	states := l.states
	l.batch, l.states = l.batch[:0], nil
	clear(l.stateAt)
	for _, w := range l.witness {
		w.Stored()
	}
	if err != nil {
		l.log.Error("replica: events not stored; the gap filler will ask for them again", "err", err)
		for _, r := range states { // the states on their own: the room will not say them again
			l.keep(r)
		}
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
	if l.opts.State != nil {
		for _, r := range changed {
			l.opts.State(r)
		}
	}
}

// took counts n messages the feed has taken in, and wakes the gap filler
// when it may have something to do: a gap to ask for, a request whose
// events may now all be in, a catch-up that waited for the feed.
func (l *Link) took(n, old int) {
	l.fed.Add(uint64(n))
	l.fedOld.Add(uint64(old))
	l.mu.Lock()
	waiting := len(l.inflight) > 0 || len(l.catchUp) > 0
	l.mu.Unlock()
	if waiting || len(l.opts.Store.Gaps()) > 0 {
		l.wake()
	}
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
