package mqtt

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// The gateway re-sends at most this many events a request (events/resend).
const resendMax = 10000

// fill asks gateways to re-send what the replica misses: a gap (after
// GapGrace, in case the missing events are only late), and the events after
// the last one held (at each connection, when a room comes online, and every
// CatchUp), since events published while the dashboard was away from the
// broker reach it no other way.
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
		l.fillGaps()
		l.catchUpRooms()
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

// fillGaps asks for the first missing range of every room whose gap is
// older than the grace.
func (l *Link) fillGaps() {
	now := l.opts.Clock.Now()
	waiting := false
	seen := map[string]bool{}
	for _, g := range l.opts.Store.Gaps() {
		key := g.Room + "/" + strconv.FormatUint(g.From, 10)
		seen[key] = true
		l.mu.Lock()
		first, ok := l.gapSeen[key]
		if !ok {
			l.gapSeen[key], first = now, now
		}
		on := l.online[g.Room]
		l.mu.Unlock()
		if now.Sub(first) < l.opts.GapGrace || !on {
			waiting = waiting || on
			continue
		}
		l.resend(g.Room, g.From, min(g.To, g.From+resendMax-1), true)
	}
	l.mu.Lock()
	for key := range l.gapSeen {
		if !seen[key] {
			delete(l.gapSeen, key)
		}
	}
	l.mu.Unlock()
	if waiting {
		l.opts.Clock.AfterFunc(l.opts.GapGrace/2, l.wake)
	}
}

// catchUpRooms asks each room marked for it for the events after the last
// one held, until the gateway says its log ends there.
func (l *Link) catchUpRooms() {
	l.mu.Lock()
	var rooms []string
	for room := range l.catchUp {
		if l.online[room] {
			rooms = append(rooms, room)
		}
		delete(l.catchUp, room)
	}
	l.mu.Unlock()
	for _, room := range rooms {
		for i := 0; i < 1000; i++ { // bounded: ten million events a round
			r, _ := l.opts.Store.Room(room)
			if !l.resend(room, r.High+1, r.High+resendMax, false) {
				break
			}
			l.waitFed(room, r.High)
		}
	}
}

// resend asks room for from..to. With gap, a range the gateway no longer
// has is marked lost. It tells whether the log went on past the range
// (there may be more).
func (l *Link) resend(room string, from, to uint64, gap bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := l.Call(ctx, room, "events/resend", map[string]any{"by": "dashboard", "from": from, "to": to})
	if err != nil {
		if !gap && gateway.ErrorCode(err) == gateway.ENOTFOUND && strings.Contains(err.Error(), "log ends") {
			return false // caught up
		}
		l.log.Warn("replica: re-send refused or unanswered", "room", room, "from", from, "to", to, "err", err)
		return false
	}
	count, _ := res["count"].(float64)
	first, hasFirst := res["first"].(float64)
	l.log.Info("replica: events re-sent", "room", room, "from", from, "to", to, "count", count)
	if gap {
		switch {
		case !hasFirst: // none of the range is left
			l.markLost(room, from, to)
		case uint64(first) > from:
			l.markLost(room, from, uint64(first)-1)
		}
	}
	// the reply's "to" is where the log ends when that comes first
	end, _ := res["to"].(float64)
	return uint64(end) >= to && count > 0
}

func (l *Link) markLost(room string, from, to uint64) {
	l.log.Error("replica: events the gateway no longer has (pruned before the dashboard got them)", "room", room, "from", from, "to", to)
	if err := l.opts.Store.MarkLost(room, from, to); err != nil {
		l.log.Error("replica: mark lost", "room", room, "err", err)
	}
}

// waitFed waits (briefly) for the re-sent events to reach the replica, so
// the next request starts after them.
func (l *Link) waitFed(room string, high uint64) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r, _ := l.opts.Store.Room(room); r.High > high {
			return
		}
		select {
		case <-l.done:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}
