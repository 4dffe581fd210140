package dashboard

import (
	"fmt"
	"slices"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// A console believes a room's event only once the room vouches for it
// (issue 18). Anyone on the broker can publish an event with the next seq
// and the right prev (the hash of an event everybody saw), so the chain
// alone proves nothing going up. It proves everything going down: the room
// signs its chain's head (the head topic, and the proof on every retained
// state and reply), and an event whose hash is the head the room signed at
// its seq is the room's, and so is the one whose hash is its prev, and so
// on down. A Witness keeps, for one room, the events not yet vouched for
// (pending) and the hashes the next events down must have (expected).

// Forgery is something the room did not say: an event or a message
// quarantined, and why.
type Forgery struct {
	Seq     uint64
	Reason  string
	Payload []byte
	// Fork is set when the room's own key signed a chain through Seq that
	// is not the one the replica holds there: not a message someone forged
	// but the room's history rewritten (issue 27, finding 10).
	Fork *Fork
}

// Fork is where a room's history forked: the head of the chain the
// replica holds at Seq, and the one the room's key signs there now.
type Fork struct {
	Seq          uint64
	Held, Signed string
}

// WitnessWait is how long an event may wait for the room's word while the
// room keeps vouching for others: the room signs its head each time its
// events are all on the broker, so a real event is vouched for within a
// batch, or, when the one above it was lost on the way, once the gap filler
// brought that; one that is not by then is a forgery.
const WitnessWait = 5 * time.Minute

// WitnessPending bounds the events waiting for the room's word (a flood of
// forged events must not exhaust the console): past it, the oldest go to
// quarantine.
const WitnessPending = 50_000

type pendingEvent struct {
	seq, below uint64 // below: the seq its prev is the hash of (gateway.Below)
	prev, hash string
	event      *gateway.Event
	payload    []byte
	received   time.Time
	gone       bool // no longer pending (order keeps it until compacted)
}

// Witness checks one room's events against its signed heads.
type Witness struct {
	// Held is the hash and prev of the event the replica holds at seq
	// (false when it holds none): asked where a vouched-for chain reaches
	// the replica.
	Held func(seq uint64) (hash, prev string, ok bool, err error)
	// High is the highest seq the replica holds: Held is not asked above it.
	High func() uint64

	pending  map[uint64][]*pendingEvent
	order    []*pendingEvent // pending in arrival order (with gone ones)
	npending int
	expected map[uint64]string
	vouched  uint64 // the highest seq the room vouched for that the replica holds (or takes now)
	known    uint64 // no event above it is in the replica (its High when last asked)
	recent   map[uint64]link
	// restoredOver is the seq of a log.restored that came where the
	// replica holds an event: the room went on over seqs it had used (over).
	restoredOver uint64
}

// link is an event's place in the chain.
type link struct{ hash, prev string }

// Vouched is the highest seq the room vouched for whose event the replica
// holds (or was just given to take).
func (w *Witness) Vouched() uint64 { return w.vouched }

// NewWitness returns a witness of the replica that answers high and held.
func NewWitness(high func() uint64, held func(seq uint64) (hash, prev string, ok bool, err error)) *Witness {
	return &Witness{Held: held, High: high, pending: map[uint64][]*pendingEvent{}, expected: map[uint64]string{}, recent: map[uint64]link{}}
}

// Stored tells the witness that the events it gave to take are in the
// replica now (Held answers for them).
func (w *Witness) Stored() { clear(w.recent) }

// held is what the replica holds at seq, or is about to.
func (w *Witness) held(seq uint64) (hash, prev string, ok bool, err error) {
	if l, ok := w.recent[seq]; ok {
		return l.hash, l.prev, true, nil
	}
	if seq > w.known {
		if w.known = max(w.known, w.High()); seq > w.known {
			return "", "", false, nil
		}
	}
	return w.Held(seq)
}

// took notes an event given to take.
func (w *Witness) took(seq uint64, l link) {
	w.recent[seq] = l // held from now on (recent until stored; High then)
	w.vouched = max(w.vouched, seq)
}

// Expecting tells whether the room vouched for events the console has not
// received yet (the replica should ask for them).
func (w *Witness) Expecting() bool { return len(w.expected) > 0 }

// Event takes one event as it arrived, read from its bytes. It returns the
// events now vouched for, in seq order, to store (this one, maybe, and
// those below it that waited), and the forgeries found.
func (w *Witness) Event(ev *gateway.Event, payload []byte, now time.Time) (take []Message, forged []Forgery, err error) {
	seq, prev := ev.Seq, ev.Prev
	below := gateway.Below(seq, ev.Type, ev.Data)
	e := &pendingEvent{seq: seq, below: below, prev: prev, hash: gateway.ChainHash(payload), event: ev, payload: payload, received: now}
	want, ok := w.expected[seq]
	if !ok { // the replica may hold the event above (a console restarted, a gap filled late)
		_, abovePrev, held, err := w.held(seq + 1)
		if err != nil {
			return nil, nil, err
		}
		want, ok = abovePrev, held
	}
	if ok {
		if e.hash != want {
			return nil, []Forgery{{Seq: seq, Reason: w.over(seq, ev, "not the event the room's signed chain has at this seq"), Payload: payload}}, nil
		}
		delete(w.expected, seq)
		w.took(seq, link{e.hash, prev})
		take, forged, err := w.down(below, prev)
		return append(take, Message{Seq: seq, Event: ev, Payload: payload}), forged, err
	}
	if h, _, ok, err := w.held(seq); err != nil {
		return nil, nil, err
	} else if ok {
		if h != e.hash {
			return nil, []Forgery{{Seq: seq, Reason: w.over(seq, ev, "the replica holds another event at this seq, vouched for by the room"), Payload: payload}}, nil
		}
		return nil, nil, nil // a duplicate
	}
	for _, p := range w.pending[seq] {
		if p.hash == e.hash {
			return nil, nil, nil // a duplicate still waiting
		}
	}
	w.pending[seq] = append(w.pending[seq], e)
	w.order = append(w.order, e)
	w.npending++
	for w.npending > WitnessPending {
		forged = append(forged, w.evictOldest())
	}
	return nil, forged, nil
}

// Message is an event the witness lets through: as read, and its bytes.
type Message struct {
	Seq     uint64
	Event   *gateway.Event
	Payload []byte
}

// Anchor takes a head the room signed (its proof verified): the event at
// seq must hash to head. It returns the events this vouches for and the
// forgeries it shows.
func (w *Witness) Anchor(seq uint64, head string) (take []Message, forged []Forgery, err error) {
	if seq == 0 {
		return nil, nil, nil // an empty log vouches for nothing
	}
	take, forged, err = w.down(seq, head)
	if err != nil {
		return nil, nil, err
	}
	return take, forged, nil
}

// Sweep quarantines the events that waited longer than WitnessWait for the
// room's word. (One the room's signed chain passes through is settled as
// soon as the head arrives: the walk down takes the room's event at each
// seq and quarantines the others.)
func (w *Witness) Sweep(now time.Time) (forged []Forgery) {
	for q, list := range w.pending {
		keep := list[:0]
		for _, p := range list {
			if now.Sub(p.received) <= WitnessWait {
				keep = append(keep, p)
				continue
			}
			forged = append(forged, Forgery{Seq: q, Reason: fmt.Sprintf("the room did not vouch for it in %s", WitnessWait), Payload: p.payload})
			p.gone = true
			w.npending--
		}
		if len(keep) == 0 {
			delete(w.pending, q)
		} else {
			w.pending[q] = keep
		}
	}
	w.compact()
	return forged
}

// down walks the room's chain down from seq, whose event must hash to want:
// each event found (waiting, or already in the replica) vouches for the one
// below it; where the console has none yet, the hash is expected.
func (w *Witness) down(seq uint64, want string) (take []Message, forged []Forgery, err error) {
	for seq > 0 {
		if h, _, ok, err := w.held(seq); err != nil {
			return nil, nil, err
		} else if ok {
			if h != want {
				forged = append(forged, w.notInChain(seq, h, want))
			} else {
				w.vouched = max(w.vouched, seq)
			}
			break
		}
		if old, ok := w.expected[seq]; ok {
			if old != want {
				forged = append(forged, Forgery{Seq: seq, Reason: forkReason(seq, old, want), Fork: &Fork{Seq: seq, Held: old, Signed: want}})
			}
			break
		}
		var found *pendingEvent
		for _, p := range w.pending[seq] {
			p.gone = true
			if p.hash == want && found == nil {
				found = p
				continue
			}
			forged = append(forged, Forgery{Seq: seq, Reason: "not the event the room's signed chain has at this seq", Payload: p.payload})
		}
		w.npending -= len(w.pending[seq])
		delete(w.pending, seq)
		if found == nil {
			w.expected[seq] = want
			break
		}
		take = append(take, Message{Seq: seq, Event: found.event, Payload: found.payload})
		w.took(seq, link{found.hash, found.prev})
		want, seq = found.prev, found.below
	}
	slices.Reverse(take)
	return take, forged, nil
}

// notInChain is the replica holding at seq an event whose hash, held, is
// not the signed, the hash the room's signed chain has there. Either the
// room's log was restored over it (over), or the room's own key now signs
// another history through seq: its log was rewritten (a fork, issue 27).
// A replica that took events before the room's key was pinned holds them
// unvouched; those are the "not the chain" case only if no head ever
// vouched for them, which a fork cannot tell apart: the reason says both.
func (w *Witness) notInChain(seq uint64, held, signed string) Forgery {
	const otherwise = "fork"
	if why := w.over(seq, nil, otherwise); why != otherwise {
		return Forgery{Seq: seq, Reason: why}
	}
	return Forgery{Seq: seq, Reason: forkReason(seq, held, signed), Fork: &Fork{Seq: seq, Held: held, Signed: signed}}
}

// forkReason says a fork at seq in words.
func forkReason(seq uint64, held, signed string) string {
	return fmt.Sprintf("the room's history forked (at seq %d or below): at seq %d the console holds the chain with head %.16s…, the room's key now signs %.16s…: "+
		"the log on the room's gateway was rewritten and signed again with its key (or the console took these events before the key was pinned)", seq, seq, held, signed)
}

// over names a seq the replica holds that the room used again after its log
// was restored from a backup (issue 27: an operator's --resume-after below
// what the room had logged): a log.restored that came at a seq the replica
// holds, and every seq above it, are "restored over", not forgeries of an
// unknown kind; ev is the event that came at seq (nil: none).
func (w *Witness) over(seq uint64, ev *gateway.Event, otherwise string) string {
	if ev != nil && ev.Type == "log.restored" && (w.restoredOver == 0 || seq < w.restoredOver) {
		w.restoredOver = seq
	}
	if w.restoredOver == 0 || seq < w.restoredOver {
		return otherwise
	}
	return fmt.Sprintf("restored over: the room's log was restored from a backup and went on at seq %d, over seqs it had used before the loss; the replica holds the room's events from before the restore", w.restoredOver)
}

// Forget drops what is expected at or below seq: the room no longer has
// those events (pruned, or deleted from its log), so they will not come.
func (w *Witness) Forget(through uint64) {
	for q := range w.expected {
		if q <= through {
			delete(w.expected, q)
		}
	}
}

// evictOldest quarantines the event that has waited longest.
func (w *Witness) evictOldest() Forgery {
	for w.order[0].gone {
		w.order = w.order[1:]
	}
	p := w.order[0]
	w.order = w.order[1:]
	list := w.pending[p.seq]
	i := slices.Index(list, p)
	if w.pending[p.seq] = slices.Delete(list, i, i+1); len(w.pending[p.seq]) == 0 {
		delete(w.pending, p.seq)
	}
	p.gone = true
	w.npending--
	return Forgery{Seq: p.seq, Reason: fmt.Sprintf("more than %d events waiting for the room's word", WitnessPending), Payload: p.payload}
}

// compact drops from order what is no longer pending, once it is mostly that.
func (w *Witness) compact() {
	if len(w.order) < 1024 || len(w.order) < 2*w.npending {
		return
	}
	w.order = slices.DeleteFunc(w.order, func(p *pendingEvent) bool { return p.gone })
}
