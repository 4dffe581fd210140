package mqtt

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// What a console believes of a room (issue 18): the room's key, pinned;
// each event held by the room's witness until a head the room signed
// vouches for it; retained state taken only with the room's proof, and
// never older than the state held; what fails is quarantined as forged.

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
			old, err := l.held(m.room, kind, key)
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
	if batched(m.rest) {
		l.later(r)
		return
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
