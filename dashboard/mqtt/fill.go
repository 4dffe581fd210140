package mqtt

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// The gateway re-sends at most this many events a request (events/resend).
const resendMax = 500

// resendsInFlight bounds the re-sends asked for at once, of every room (a
// console back after a day asks a building's rooms a few at a time: no
// storm, and what waits before a live event on the console's one
// connection is bounded: BenchmarkCatchUp measured 2 × 500 against 4 × 2,500
// and 2 × 1,000 — the same pace, a live alarm's p99 49 ms against 377 and
// 82).
const resendsInFlight = 2

// oldPerBatch bounds the re-sent events the feed takes into one batch
// before it looks for live ones again.
const oldPerBatch = 256

// replyWait is how long a request may go unanswered while nothing else is
// arriving either: then it is taken as lost and may be asked again.
const replyWait = 30 * time.Second

// refusedWait is how long a room that refused a re-send is not asked again.
const refusedWait = 10 * time.Second

// request is the one events/resend a room may have in flight. Its events
// come on this console's own topic, published by the gateway before the
// reply, so once the reply is here and the feed has taken everything that
// arrived before it, whatever the request could bring is in the replica.
type request struct {
	id       string
	from, to uint64
	gap      bool // a gap; else the events after the last held (a catch-up)
	sent     time.Time
	reply    []byte // nil until answered
	mark     uint64 // re-sent events received when the reply came
	settled  bool
}

// fill asks gateways to re-send what the replica misses: a gap (after
// GapGrace, in case the missing events are only late), and the events after
// the last one held (at each connection, when a room comes online, and every
// CatchUp), since events published while the dashboard was away from the
// broker reach it no other way. A room has at most one request in flight: a
// console that is behind waits for what it asked for before asking again,
// and asks once per gap.
func (l *Link) fill() {
	defer l.wg.Done()
	stop := l.opts.Clock.AfterFunc(l.opts.CatchUp, l.everyCatchUp)
	defer func() { stop() }()
	for {
		select {
		case <-l.done:
			return
		case <-l.kick:
		}
		if !l.Connected() {
			continue
		}
		l.settle()
		l.ask()
	}
}

func (l *Link) everyCatchUp() {
	select {
	case <-l.done:
		return
	default:
	}
	l.mu.Lock()
	for room, on := range l.online {
		if on {
			l.catchUp[room] = true
		}
	}
	l.mu.Unlock()
	l.wake()
	l.opts.Clock.AfterFunc(l.opts.CatchUp, l.everyCatchUp)
}

// behind tells whether messages that arrived are still waiting for the feed.
func (l *Link) behind() bool {
	return l.fed.Load() < l.received.Load() || l.fedOld.Load() < l.receivedOld.Load()
}

// settle takes in the replies that came and ends the requests whose events
// are all in the replica.
func (l *Link) settle() {
	now := l.opts.Clock.Now()
	l.mu.Lock()
	reqs := make(map[string]*request, len(l.inflight))
	for room, r := range l.inflight {
		reqs[room] = r
	}
	l.mu.Unlock()
	for room, r := range reqs {
		l.mu.Lock()
		reply, mark := r.reply, r.mark
		l.mu.Unlock()
		if reply != nil && !r.settled {
			r.settled = true
			l.answered(room, r, reply, now)
		}
		done := reply != nil && l.fedOld.Load() >= mark
		if reply == nil && now.Sub(r.sent) >= replyWait && !l.behind() {
			l.log.Warn("replica: re-send unanswered; asking again", "room", room, "from", r.from, "to", r.to)
			done = true
		}
		if done {
			l.mu.Lock()
			delete(l.inflight, room)
			delete(l.pending, r.id)
			l.mu.Unlock()
		}
	}
}

// answered acts on a request's reply: a range the gateway no longer has is
// marked lost, a refusal for want of budget waits as long as the reply
// says, and a catch-up goes on while the log does.
func (l *Link) answered(room string, r *request, reply []byte, now time.Time) {
	var rep wire.Reply
	err := json.Unmarshal(reply, &rep)
	if err == nil {
		err = rep.Err()
	}
	if err != nil {
		if !r.gap && rep.Error != nil && rep.Error.Code == gateway.ENOTFOUND && strings.Contains(rep.Error.Message, "log ends") {
			return // caught up
		}
		l.log.Warn("replica: re-send refused", "room", room, "from", r.from, "to", r.to, "err", err)
		l.backOff(room, now, refusedWait)
		return
	}
	num := func(k string) (uint64, bool) { v, ok := rep.Result[k].(float64); return uint64(v), ok }
	count, _ := num("count")
	to, _ := num("to")
	first, hasFirst := num("first")
	oldest, knowsOldest := num("oldest")
	refused, _ := num("refused")
	l.log.Info("replica: events re-sent", "room", room, "from", r.from, "to", to, "count", count, "refused", refused)
	if r.gap {
		gone := to // the range's end the gateway no longer has
		switch {
		case !hasFirst: // none of the range is left
		case first > r.from:
			gone = first - 1
		default:
			gone = 0
		}
		if gone >= r.from {
			// Older than the gateway's oldest event: pruned. At or after it:
			// deleted from its log.
			pruned := gone
			if knowsOldest && oldest <= gone {
				pruned = max(oldest, r.from) - 1
			}
			if pruned >= r.from {
				l.markLost(room, r.from, pruned, dashboard.LostPruned)
			}
			if pruned < gone {
				l.markLost(room, max(pruned+1, r.from), gone, dashboard.LostDeleted)
			}
		}
	}
	if refused > 0 {
		after, _ := num("retry_after_s")
		l.backOff(room, now, time.Duration(max(after, 1))*time.Second)
	}
	if !r.gap && (refused > 0 || (to >= r.to && count > 0)) {
		l.mu.Lock()
		l.catchUp[room] = true // there may be more
		l.mu.Unlock()
		l.wake()
	}
}

// ask sends each room without a request in flight the one it needs: its
// gap, once older than the grace, else the events after the last held when
// a catch-up is due and nothing else is arriving (while events arrive, a
// missing one shows as a gap).
func (l *Link) ask() {
	now := l.opts.Clock.Now()
	gaps := map[string]dashboard.Gap{}
	for _, g := range l.opts.Store.Gaps() {
		gaps[g.Room] = g
	}
	waiting := false
	l.mu.Lock()
	for key := range l.gapSeen {
		room, _, _ := strings.Cut(key, "\x00")
		if g, ok := gaps[room]; !ok || key != gapKey(g) {
			delete(l.gapSeen, key)
		}
	}
	var sends []*request
	var rooms []string
	free := resendsInFlight - len(l.inflight)
	for room, g := range gaps {
		key := gapKey(g)
		first, ok := l.gapSeen[key]
		if !ok {
			l.gapSeen[key], first = now, now
		}
		if !l.online[room] || l.inflight[room] != nil || now.Before(l.notBefore[room]) {
			continue
		}
		if now.Sub(first) < l.opts.GapGrace {
			waiting = true
			continue
		}
		if len(sends) >= free {
			break // the next when one is answered
		}
		sends = append(sends, &request{from: g.From, to: min(g.To, g.From+resendMax-1), gap: true})
		rooms = append(rooms, room)
	}
	behind := l.behind()
	for room := range l.catchUp {
		if _, gap := gaps[room]; gap || behind || !l.online[room] || l.inflight[room] != nil || now.Before(l.notBefore[room]) {
			continue
		}
		if len(sends) >= free {
			break // the next when one is answered
		}
		delete(l.catchUp, room)
		r, _ := l.opts.Store.Room(room)
		sends = append(sends, &request{from: r.High + 1, to: r.High + resendMax})
		rooms = append(rooms, room)
	}
	l.mu.Unlock()
	for i, r := range sends {
		l.send(rooms[i], r)
	}
	if waiting {
		l.opts.Clock.AfterFunc(l.opts.GapGrace/2, l.wake)
	}
}

// backOff asks room nothing for wait.
func (l *Link) backOff(room string, now time.Time, wait time.Duration) {
	l.mu.Lock()
	l.notBefore[room] = now.Add(wait)
	l.mu.Unlock()
	l.opts.Clock.AfterFunc(wait, l.wake)
}

func gapKey(g dashboard.Gap) string { return g.Room + "\x00" + fmt.Sprint(g.From) }

// send publishes one events/resend; its reply is kept for settle.
func (l *Link) send(room string, r *request) {
	r.id, r.sent = "dash-"+randomID(), l.opts.Clock.Now()
	payload, err := l.seal(room, "events/resend", map[string]any{"id": r.id, "by": "dashboard", "requester": l.requester, "from": r.from, "to": r.to})
	if err != nil {
		l.log.Error("replica: re-send request", "err", err)
		return
	}
	l.mu.Lock()
	l.inflight[room] = r
	l.pending[r.id] = func(p []byte) {
		l.mu.Lock()
		if r.reply == nil {
			r.reply, r.mark = p, l.receivedOld.Load()
		}
		l.mu.Unlock()
		l.wake()
	}
	l.mu.Unlock()
	l.client.Publish(wire.Topics{Room: room}.Root()+"/cmd/events/resend", 1, false, payload)
	l.opts.Clock.AfterFunc(replyWait, l.wake)
}

func (l *Link) markLost(room string, from, to uint64, why string) {
	if why == dashboard.LostDeleted {
		l.log.Error("replica: events missing from the room's log after its oldest: deleted (its log was tampered with)", "room", room, "from", from, "to", to)
	} else {
		l.log.Error("replica: events the gateway no longer has (pruned before the dashboard got them)", "room", room, "from", from, "to", to)
	}
	if err := l.opts.Store.MarkLost(room, from, to, why); err != nil {
		l.log.Error("replica: mark lost", "room", room, "err", err)
		return
	}
	// The room's witness (the feed's) stops awaiting what will never come.
	l.queue(message{room: room, rest: "lost", proof: gateway.Proof{Seq: to}})
}
