// Package mqtt links the dashboard to the rooms: it subscribes to every
// room on the broker, feeds their events and retained state to the replica,
// fills the replica's gaps by asking gateways to re-send, and carries the
// console's commands to the rooms and their replies back.
package mqtt

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
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

	// The rooms an admin pinned the key of, and what the console believes
	// of each (issue 18): events only once the room vouched for them, state
	// and replies only under its signature.
	wmu         sync.Mutex
	keys        map[string]ed25519.PublicKey
	witness     map[string]*dashboard.Witness // the feed's
	expectSince map[string]time.Time          // the feed's: since when a room vouched for events not here yet
	batch       []sqlite.Message              // the feed's: events to store

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
	l := &Link{opts: o, log: o.Log, in: make(chan message, 8192), kick: make(chan struct{}, 1), done: make(chan struct{}),
		requester: requesterID(cmp.Or(o.Username, o.ClientID)), pending: map[string]func([]byte){}, online: map[string]bool{},
		gapSeen: map[string]time.Time{}, catchUp: map[string]bool{}, inflight: map[string]*request{}, notBefore: map[string]time.Time{},
		keys: map[string]ed25519.PublicKey{}, witness: map[string]*dashboard.Witness{}, expectSince: map[string]time.Time{},
		heard: map[string]time.Time{}, headAt: map[string]string{}, beat: map[string]time.Duration{}, silent: map[string]bool{}}
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
		rest = "events" // asked for by this console: the same events, byte for byte
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
	select {
	case l.in <- m:
		l.received.Add(1)
	case <-l.done:
	}
}

// key is a room's pinned key (nil: not pinned; believed as it comes).
func (l *Link) key(room string) ed25519.PublicKey {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.keys[room]
}

// PinKey makes key (base64, as the room's status offers it) the one room
// is verified against from now on, confirmed by the admin by.
func (l *Link) PinKey(room, key, by string) error {
	k, err := gateway.ParsePublicKey(key)
	if err != nil {
		return gateway.Errorf(gateway.EINVALID, "room %s: %v", room, err)
	}
	if err := l.opts.Store.PinKey(room, key, by); err != nil {
		return err
	}
	l.wmu.Lock()
	l.keys[room] = k
	l.wmu.Unlock()
	return nil
}

// pinByFingerprint pins key, the one room's status offers, when an admin
// added the room with its key's fingerprint (read from the Pi) and it
// matches; otherwise it stays seen, not believed, until an admin confirms.
func (l *Link) pinByFingerprint(room, key string) {
	fp, _ := l.opts.Store.Watched(room)
	if fp == "" {
		return
	}
	k, err := gateway.ParsePublicKey(key)
	if err != nil || gateway.KeyFingerprint(k) != fp {
		l.log.Error("a room's key does not match the fingerprint it was added with: not pinned", "room", room)
		return
	}
	if err := l.PinKey(room, key, "the fingerprint given when the room was added"); err != nil {
		l.log.Error("replica: pin room key", "room", room, "err", err)
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
	consumed := 0
	flush := func() {
		if len(l.batch) > 0 {
			l.store()
		}
		if consumed > 0 {
			l.took(consumed)
			consumed = 0
		}
	}
	for {
		var m message
		select {
		case m = <-l.in:
		case <-tick.C:
			l.sweep()
			flush()
			continue
		case <-l.done:
			flush()
			return
		}
		for {
			if m.rest == "events" {
				l.event(m)
			} else {
				flush()
				l.state(m)
			}
			consumed++
			if len(l.batch) >= 1000 {
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

// store writes the batch of events into the replica.
func (l *Link) store() {
	var vouched []sqlite.Vouch
	for room, w := range l.witness {
		if w.Vouched() > 0 {
			vouched = append(vouched, sqlite.Vouch{Room: room, Seq: w.Vouched(), At: l.opts.Clock.Now()})
		}
	}
	res, err := l.opts.Store.Ingest(l.batch, vouched...) // the chain's status in the same transaction
	l.batch = l.batch[:0]
	for _, w := range l.witness {
		w.Stored()
	}
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

// witnessOf is a pinned room's witness (the feed's).
func (l *Link) witnessOf(room string) *dashboard.Witness {
	w := l.witness[room]
	if w == nil {
		w = dashboard.NewWitness(func() uint64 { rec, _ := l.opts.Store.Room(room); return rec.High },
			func(seq uint64) (string, string, bool, error) { return l.opts.Store.HeldLink(room, seq) })
		l.witness[room] = w
	}
	return w
}

// event takes an event in: into the batch, once its room vouches for it.
func (l *Link) event(m message) {
	l.hear(m.room)
	if l.key(m.room) == nil {
		l.batch = append(l.batch, sqlite.Message{Room: m.room, Payload: m.payload})
		return
	}
	e := new(gateway.Event)
	if err := json.Unmarshal(m.payload, e); err != nil || e.Seq == 0 || e.Room != m.room {
		l.forged(m.room, "events", []dashboard.Forgery{{Seq: e.Seq, Reason: "not an event of this room", Payload: m.payload}})
		return
	}
	take, forged, err := l.witnessOf(m.room).Event(e, m.payload, l.opts.Clock.Now())
	l.vouched(m.room, "events", take, forged, err)
}

// anchor takes a head the room signed.
func (l *Link) anchor(room string, p gateway.Proof) {
	take, forged, err := l.witnessOf(room).Anchor(p.Seq, p.Head)
	l.vouched(room, "head", take, forged, err)
}

// vouched acts on the witness's answer: the events to store, the forgeries
// to quarantine; and asks the room for what it vouched for and the console
// has not received (after GapGrace: it is often only a little behind).
func (l *Link) vouched(room, topic string, take []dashboard.Message, forged []dashboard.Forgery, err error) {
	if err != nil {
		l.log.Error("replica: the room's chain could not be checked", "room", room, "err", err)
		return
	}
	for _, m := range take {
		l.batch = append(l.batch, sqlite.Message{Room: room, Payload: m.Payload, Event: m.Event})
	}
	if len(forged) > 0 {
		l.forged(room, topic, forged)
	}
	l.awaiting(room, l.opts.Clock.Now())
}

// awaiting notes whether the room vouched for events not here yet, and
// asks for them once they are GapGrace late.
func (l *Link) awaiting(room string, now time.Time) {
	w := l.witness[room]
	if w == nil || !w.Expecting() {
		delete(l.expectSince, room)
		return
	}
	since, ok := l.expectSince[room]
	if !ok {
		l.expectSince[room] = now
		return
	}
	if now.Sub(since) >= l.opts.GapGrace {
		l.expectSince[room] = now
		l.mu.Lock()
		l.catchUp[room] = true
		l.mu.Unlock()
		l.wake()
	}
}

// sweep, every second, quarantines the events a room never vouched for and
// asks for the ones it vouched for that are late.
func (l *Link) sweep() {
	now := l.opts.Clock.Now()
	l.silence(now)
	for room, w := range l.witness {
		if forged := w.Sweep(now); len(forged) > 0 {
			l.forged(room, "events", forged)
		}
		l.awaiting(room, now)
	}
}

// hear notes that room said something believed: a room-silent alarm it had
// is restored.
func (l *Link) hear(room string) {
	now := l.opts.Clock.Now()
	l.heard[room] = now
	silent, known := l.silent[room]
	if !known { // after a start: the alarm may be in the replica
		old, err := l.opts.Store.RetainedPayload(room, "alarms", dashboard.SilentAlarm)
		if err != nil {
			l.log.Error("replica: room-silent alarm", "room", room, "err", err)
			return
		}
		silent = old != nil && dashboard.Active(old)
		l.silent[room] = silent
	}
	if !silent {
		return
	}
	old, err := l.opts.Store.RetainedPayload(room, "alarms", dashboard.SilentAlarm)
	if err != nil {
		l.log.Error("replica: room-silent alarm", "room", room, "err", err)
		return
	}
	if old == nil { // acknowledged at the console meanwhile
		l.silent[room] = false
		return
	}
	restored, err := dashboard.Restored(old, now)
	if err != nil {
		l.log.Error("replica: room-silent alarm", "room", room, "err", err)
		return
	}
	l.silent[room] = false
	l.keep(dashboard.Retained{Room: room, Kind: "alarms", Key: dashboard.SilentAlarm, Payload: restored, Updated: now})
}

// freshHead tells whether a head is a new beat of the room: a head sent
// again (an old one replayed: signed, but not new) keeps nobody alive.
func (l *Link) freshHead(room string, payload []byte) bool {
	var h struct {
		At string `json:"at"`
	}
	if json.Unmarshal(payload, &h) != nil || h.At == "" {
		return true // a gateway without a heartbeat
	}
	at, err := time.Parse(time.RFC3339Nano, h.At)
	if err != nil {
		return false
	}
	if last, err := time.Parse(time.RFC3339Nano, l.headAt[room]); err == nil && !at.After(last) {
		return false
	}
	l.headAt[room] = h.At
	return true
}

// silence raises the room-silent alarm of each online room that promised a
// keepalive and said nothing for twice as long. While the console itself is
// cut off from the broker it hears nobody: it raises nothing then, and
// starts counting again when it is back.
func (l *Link) silence(now time.Time) {
	if !l.Connected() {
		l.wasDown = true
		return
	}
	for room, every := range l.beat {
		last, ok := l.heard[room]
		if !ok || l.wasDown {
			l.heard[room] = now
			continue
		}
		if l.silent[room] || now.Sub(last) <= 2*every {
			continue
		}
		old, err := l.opts.Store.RetainedPayload(room, "alarms", dashboard.SilentAlarm)
		if err != nil {
			l.log.Error("replica: room-silent alarm", "room", room, "err", err)
			continue
		}
		detail := fmt.Sprintf("nothing from the room's gateway since %s (it promised every %s): stuck or cut off", last.Format(time.RFC3339), every)
		alarm, err := dashboard.RaiseSilent(room, old, detail, now)
		if err != nil {
			l.log.Error("replica: room-silent alarm", "room", room, "err", err)
			continue
		}
		l.log.Error("room silent", "room", room, "since", last, "keepalive", every)
		l.silent[room] = true
		l.keep(dashboard.Retained{Room: room, Kind: "alarms", Key: dashboard.SilentAlarm, Payload: alarm, Updated: now})
	}
	l.wasDown = false
}

// forged keeps what a room did not say in quarantine and raises the room's
// room-forgery alarm on the console; a fork (the room's own key signing
// another history) raises log-forked instead.
func (l *Link) forged(room, topic string, forged []dashboard.Forgery) {
	for _, f := range forged {
		l.log.Error("room forgery: quarantined", "room", room, "topic", topic, "seq", f.Seq, "reason", f.Reason)
	}
	if err := l.opts.Store.Quarantine(room, topic, forged); err != nil {
		l.log.Error("replica: quarantine not stored", "room", room, "err", err)
	}
	var others []dashboard.Forgery
	for _, f := range forged {
		if f.Fork == nil {
			others = append(others, f)
			continue
		}
		old, err := l.opts.Store.RetainedPayload(room, "alarms", dashboard.ForkAlarm)
		if err != nil {
			l.log.Error("replica: log-forked alarm", "room", room, "err", err)
		}
		alarm, err := dashboard.RaiseFork(room, old, f.Reason, l.opts.Clock.Now())
		if err != nil {
			l.log.Error("replica: log-forked alarm", "room", room, "err", err)
			continue
		}
		l.keep(dashboard.Retained{Room: room, Kind: "alarms", Key: dashboard.ForkAlarm, Payload: alarm, Updated: l.opts.Clock.Now()})
	}
	if forged = others; len(forged) == 0 {
		return
	}
	old, err := l.opts.Store.RetainedPayload(room, "alarms", dashboard.ForgeryAlarm)
	if err != nil {
		l.log.Error("replica: room-forgery alarm", "room", room, "err", err)
	}
	last := forged[len(forged)-1]
	detail := fmt.Sprintf("%s: %s", topic, last.Reason)
	if last.Seq > 0 {
		detail = fmt.Sprintf("%s seq %d: %s", topic, last.Seq, last.Reason)
	}
	if len(forged) > 1 {
		detail += fmt.Sprintf(" (and %d more)", len(forged)-1)
	}
	alarm, err := dashboard.RaiseForgery(room, old, detail, l.opts.Clock.Now())
	if err != nil {
		l.log.Error("replica: room-forgery alarm", "room", room, "err", err)
		return
	}
	l.keep(dashboard.Retained{Room: room, Kind: "alarms", Key: dashboard.ForgeryAlarm, Payload: alarm, Updated: l.opts.Clock.Now()})
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

// state keeps a retained state message. A pinned room's must carry its
// proof, newer than the one held (an older one sent again is a replay); its
// head vouches for the room's events; an empty one (a cleared topic) is
// left alone: a closing comes from the chain (alarm.closed).
func (l *Link) state(m message) {
	switch {
	case m.rest == "anchor":
		l.hear(m.room)
		l.anchor(m.room, m.proof)
		return
	case m.rest == "lost":
		if w := l.witness[m.room]; w != nil {
			w.Forget(m.proof.Seq)
			l.awaiting(m.room, l.opts.Clock.Now())
		}
		return
	case strings.HasPrefix(m.rest, "forged/"):
		l.forged(m.room, strings.TrimPrefix(m.rest, "forged/"), []dashboard.Forgery{{Reason: m.forged, Payload: m.payload}})
		return
	}
	kind := kindOf(m.rest)
	_, key, _ := strings.Cut(m.rest, "/")
	if pinned := l.key(m.room); pinned != nil {
		if len(m.payload) == 0 {
			l.log.Debug("a cleared topic: believed only from the room's chain", "room", m.room, "topic", m.rest)
			return
		}
		_, proof, err := gateway.OpenProof(pinned, m.room, m.rest, m.payload)
		if err != nil {
			l.forged(m.room, m.rest, []dashboard.Forgery{{Reason: "not signed by the room's key: " + err.Error(), Payload: m.payload}})
			return
		}
		if m.rest != "head" {
			old, err := l.opts.Store.RetainedPayload(m.room, kind, key)
			if err != nil {
				l.log.Error("replica: state not checked", "room", m.room, "topic", m.rest, "err", err)
				return
			}
			why := replayed(kind, old, m.payload, proof)
			if why == "" && kind == "alarms" {
				closed, ok, err := l.opts.Store.AlarmClosed(m.room, key)
				if err != nil {
					l.log.Error("replica: alarm state not checked", "room", m.room, "topic", m.rest, "err", err)
					return
				}
				if ok && proof.Seq < closed {
					why = fmt.Sprintf("a replay: alarm %s was closed at seq %d, this state signed at seq %d", key, closed, proof.Seq)
				}
			}
			if why != "" {
				l.forged(m.room, m.rest, []dashboard.Forgery{{Seq: proof.Seq, Reason: why, Payload: m.payload}})
				return
			}
		}
		l.anchor(m.room, proof)
	}
	if m.rest == "head" {
		if l.freshHead(m.room, m.payload) {
			l.hear(m.room)
		}
		return
	}
	l.hear(m.room)
	r := dashboard.Retained{Room: m.room, Kind: kind, Key: key, Payload: m.payload, Updated: l.opts.Clock.Now()}
	if kind == "status" {
		var st wire.Status
		if json.Unmarshal(m.payload, &st) == nil {
			if st.Name != "" {
				if err := l.opts.Store.SetRoomName(m.room, st.Name); err != nil {
					l.log.Error("replica: room name", "room", m.room, "err", err)
				}
			}
			if st.Key != "" && l.key(m.room) == nil {
				if err := l.opts.Store.SeeKey(m.room, st.Key); err != nil {
					l.log.Error("replica: room key", "room", m.room, "err", err)
				}
				l.pinByFingerprint(m.room, st.Key)
			}
			if held, err := l.opts.Store.RetainedPayload(m.room, "status", ""); err != nil {
				l.log.Error("replica: status", "room", m.room, "err", err)
			} else if string(held) != string(m.payload) { // a change, not the same status delivered again
				l.offline(m.room, st)
			}
			if st.State == "online" && st.KeepAlive > 0 {
				l.beat[m.room] = time.Duration(st.KeepAlive) * time.Second
			} else {
				delete(l.beat, m.room) // offline has its own alarm; an old gateway promises nothing
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

// replayed says why a signed state is not news (empty: it is): its proof
// is older than the one of the state held. A status at the same head is
// ordered by its since, and at the same since the last will wins over the
// online it was signed with.
func replayed(kind string, old, payload []byte, p gateway.Proof) string {
	_, held, err := gateway.Unprove(old)
	if err != nil {
		return ""
	}
	if p.Seq < held.Seq {
		return fmt.Sprintf("a replay: signed at seq %d, the state held at seq %d", p.Seq, held.Seq)
	}
	if kind != "status" || p.Seq > held.Seq {
		return ""
	}
	var a, b wire.Status
	if json.Unmarshal(old, &a) != nil || json.Unmarshal(payload, &b) != nil {
		return ""
	}
	ta, errA := time.Parse(time.RFC3339, a.Since)
	tb, errB := time.Parse(time.RFC3339, b.Since)
	switch {
	case errA != nil || errB != nil:
		return ""
	case tb.Before(ta), tb.Equal(ta) && a.State == "offline" && b.State == "online":
		return "a replay: a status older than the one held"
	}
	return ""
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
	tok := l.client.Publish(wire.Topics{Room: room}.Root()+"/cmd/"+name, 1, false, payload)
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
		var r wire.Reply
		if err := json.Unmarshal(p, &r); err != nil {
			return nil, fmt.Errorf("unreadable reply to %s from %s: %w", name, room, err)
		}
		if err := r.Err(); err != nil {
			code := gateway.ECONFLICT
			if r.Error != nil && r.Error.Code != "" {
				code = r.Error.Code
			}
			ref, _ := err.(*wire.Refusal)
			if ref != nil {
				ref.Room = room
			}
			return r.Result, refused{&gateway.Error{Code: code, Message: err.Error()}, ref}
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

// offline raises the console's room-offline alarm when a room's gateway
// goes offline (its last will: it vanished; or it stopped), and marks it
// restored when the room is back: the guards acknowledge it like any alarm.
func (l *Link) offline(room string, st wire.Status) {
	old, err := l.opts.Store.RetainedPayload(room, "alarms", dashboard.OfflineAlarm)
	if err != nil {
		l.log.Error("replica: room-offline alarm", "room", room, "err", err)
		return
	}
	var payload json.RawMessage
	switch {
	case st.State == "offline":
		vanished := st.Reason != "shutdown"
		detail := "the room's gateway stopped: nobody guards the room"
		if vanished {
			detail = "the room's gateway vanished (" + st.Reason + "): nobody guards the room"
		}
		payload, err = dashboard.RaiseOffline(room, old, detail, vanished, l.opts.Clock.Now())
	case st.State == "online" && old != nil:
		payload, err = dashboard.Restored(old, l.opts.Clock.Now())
	default:
		return
	}
	if err != nil {
		l.log.Error("replica: room-offline alarm", "room", room, "err", err)
		return
	}
	l.keep(dashboard.Retained{Room: room, Kind: "alarms", Key: dashboard.OfflineAlarm, Payload: payload, Updated: l.opts.Clock.Now()})
}

// refused is a room's refusal of a console's command: its code for the
// console's logic, and the refusal as the room said it, for its words.
type refused struct {
	err *gateway.Error
	ref *wire.Refusal
}

func (e refused) Error() string { return e.err.Error() }

func (e refused) Unwrap() []error {
	if e.ref == nil {
		return []error{e.err}
	}
	return []error{e.err, e.ref}
}
