package mqtt

import (
	"context"
	"errors"
	"log/slog"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/roomguard/roomguard/gateway"
)

// Outbox is the event log seen from the publisher (gateway/sqlite.Store).
type Outbox interface {
	PublishedSeq() (uint64, error)
	Pending(after uint64, limit int) ([]gateway.LogRecord, error)
	MarkPublished(seq uint64) error
	// MarkPublishedSoon moves the cursor with the log's next commit (a
	// live event costs one transaction, not two); PublishedSeq answers it
	// at once.
	MarkPublishedSoon(seq uint64)
	Appended() <-chan struct{}
}

// Publisher sends the event log to roomguard/<room>/events at QoS 1, in seq
// order, and moves the outbox cursor over an event only when its token
// completed without error and without a reconnection since it was sent.
// After a loss it starts again from the cursor: the broker may see an event
// twice (consumers dedupe on id), never miss one.
type Publisher struct {
	session *Session
	outbox  Outbox
	log     *slog.Logger

	// Window is how many events may be in flight at once.
	Window int
	// MarkEvery bounds how often the cursor is handed to the log, which
	// writes it with its next commit (MarkPublishedSoon).
	MarkEvery time.Duration
	// Drained, when set, is told the seq confirmed each time every event
	// logged so far is on the broker, and after every Window events
	// confirmed while the log keeps growing (the room then makes sure a
	// signed head vouches for them: Retained.Vouch; so what vouches on the
	// broker is never more than about a window behind what a consumer has
	// seen).
	Drained func(seq uint64)
}

// NewPublisher returns a publisher of outbox on session.
func NewPublisher(s *Session, o Outbox) *Publisher {
	return &Publisher{session: s, outbox: o, log: s.log, Window: 1024, MarkEvery: 50 * time.Millisecond}
}

type inflight struct {
	seq uint64
	tok paho.Token
}

// Run publishes until ctx ends.
func (p *Publisher) Run(ctx context.Context) (err error) {
	confirmed, err := p.outbox.PublishedSeq()
	if err != nil {
		return err
	}
	marked := confirmed
	defer func() {
		if confirmed > marked {
			err = errors.Join(err, p.outbox.MarkPublished(confirmed))
		}
	}()
	for {
		// Wait for a connection.
		epoch, up, changed := p.session.State()
		if !up {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
				continue
			}
		}
		confirmed, marked = p.stream(ctx, epoch, changed, confirmed, marked)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// stream sends from confirmed onward while the connection of epoch lasts.
func (p *Publisher) stream(ctx context.Context, epoch uint64, changed <-chan struct{}, confirmed, marked uint64) (uint64, uint64) {
	topic := p.session.topics.Events()
	client := p.session.Client() // the client of this epoch
	sent, drained := confirmed, confirmed
	var queue []inflight
	lastMark := time.Now()
	mark := func(force bool) {
		if confirmed > marked && (force || time.Since(lastMark) >= p.MarkEvery) {
			p.outbox.MarkPublishedSoon(confirmed)
			marked, lastMark = confirmed, time.Now()
		}
	}
	for {
		// Top the window up in large reads, not one query per event.
		if len(queue) <= p.Window/2 {
			recs, err := p.outbox.Pending(sent, p.Window-len(queue))
			if err != nil {
				p.log.Error("outbox read failed", "err", err)
				select {
				case <-ctx.Done():
					return confirmed, marked
				case <-time.After(time.Second):
				}
				continue
			}
			for _, r := range recs {
				queue = append(queue, inflight{r.Seq, client.Publish(topic, 1, false, r.Payload)})
				sent = r.Seq
			}
		}
		if len(queue) == 0 {
			mark(true)
			if p.Drained != nil && confirmed > drained {
				p.Drained(confirmed)
				drained = confirmed
			}
			select {
			case <-ctx.Done():
				return confirmed, marked
			case <-changed:
				return confirmed, marked
			case <-p.outbox.Appended():
			case <-time.After(time.Second): // belt and braces: a missed signal costs a second
			}
			continue
		}
		head := queue[0]
		select {
		case <-ctx.Done():
			return confirmed, marked
		case <-head.tok.Done():
		}
		now, up, _ := p.session.State()
		if head.tok.Error() != nil || now != epoch || !up {
			// Lost, or acknowledged over a connection that has since dropped:
			// everything after the cursor goes again on the next connection.
			mark(true)
			select {
			case <-ctx.Done():
			case <-changed:
			}
			return confirmed, marked
		}
		confirmed = head.seq
		queue = queue[1:]
		mark(false)
		if p.Drained != nil && confirmed >= drained+uint64(p.Window) {
			p.Drained(confirmed)
			drained = confirmed
		}
	}
}
