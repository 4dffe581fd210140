package mqtt

import (
	"math"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
)

// maxResend bounds the seqs one events/resend asks for.
const maxResend = 10000

// resend publishes the logged events from..to again, byte for byte as the
// publisher sent them, on the requester's own topic (resend/<requester>):
// only the consumer that asked receives them, so a request costs every
// other subscriber nothing. The room re-sends at most limits'
// ResendPerRequester events a minute to one requester and ResendPerRoom to
// all; what the budget does not cover is refused, and the reply says how
// much and when to ask again. Events pruned past the retention are not
// there: first says where the range begins.
func (c *Commands) resend(requester string, from, to uint64) (map[string]any, error) {
	if c.t.Events == nil {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "events/resend: this gateway keeps no log to resend from")
	}
	if to < from {
		return nil, gateway.Errorf(gateway.EINVALID, "events/resend: to (%d) is before from (%d)", to, from)
	}
	if to-from >= maxResend {
		return nil, gateway.Errorf(gateway.EINVALID, "events/resend: %d events asked for, at most %d at a time", to-from+1, maxResend)
	}
	last, err := c.t.Events.LastSeq()
	if err != nil {
		return nil, err
	}
	if from > last {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "events/resend: the log ends at seq %d", last)
	}
	end := min(to, last)
	granted, wait := c.budgets.take(requester, int(end-from+1), c.session.opts.Clock.Now())
	// One record more than granted tells where the range begins even when
	// nothing is granted.
	recs, err := c.t.Events.Pending(from-1, max(granted, 1))
	if err != nil {
		return nil, err
	}
	start := from // the first seq that still exists
	if len(recs) > 0 {
		start = recs[0].Seq
	}
	topic := c.session.topics.Resend(requester)
	client := c.session.Client()
	var tok paho.Token
	n := 0
	for _, r := range recs {
		if r.Seq > end || n == granted {
			break
		}
		tok = client.Publish(topic, 1, false, r.Payload)
		n++
	}
	if tok != nil && (!tok.WaitTimeout(30*time.Second) || tok.Error() != nil) {
		return nil, gateway.Errorf(gateway.EINTERNAL, "events/resend: the broker did not take the events: %v", tok.Error())
	}
	// covered is the last seq this reply accounts for: sent, or gone.
	covered := end
	if start > end {
		start = end + 1 // all of the range is gone
	} else if start+uint64(n)-1 < end {
		covered = start + uint64(n) - 1
	}
	oldest, err := c.t.Events.FirstSeq()
	if err != nil {
		return nil, err
	}
	// oldest tells a consumer pruned (before it) from deleted (after it).
	res := map[string]any{"from": from, "to": covered, "count": n, "oldest": oldest}
	if start <= end {
		res["first"] = start
	}
	if covered < end {
		res["refused"] = end - covered
		res["retry_after_s"] = int(math.Ceil(wait.Seconds()))
		c.log.Warn("events/resend: budget spent", "requester", requester, "from", from, "to", end, "sent", n, "refused", end-covered)
	}
	return res, nil
}

// resendBudgets are token buckets on the room's clock: one a requester and
// one for the room, each filling at its limit a minute and holding at most
// a minute's worth.
type resendBudgets struct {
	mu         sync.Mutex
	limits     gateway.Limits
	room       bucket
	requesters map[string]*bucket
}

type bucket struct {
	left float64
	at   time.Time
}

// fill brings b to now at perMinute.
func (b *bucket) fill(now time.Time, perMinute int) {
	if b.at.IsZero() {
		b.left = float64(perMinute)
	} else if d := now.Sub(b.at); d > 0 {
		b.left = min(float64(perMinute), b.left+d.Minutes()*float64(perMinute))
	}
	b.at = now
}

func newResendBudgets(l gateway.Limits) *resendBudgets {
	return &resendBudgets{limits: l, requesters: map[string]*bucket{}}
}

// maxRequesters bounds the requesters remembered; a full bucket is the same
// as a new one, so those are forgotten first.
const maxRequesters = 1000

// take grants up to n events to requester now, and says, when it granted
// fewer, how long until the rest could be.
func (r *resendBudgets) take(requester string, n int, now time.Time) (int, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	per, all := r.limits.ResendPerRequester, r.limits.ResendPerRoom
	b := r.requesters[requester]
	if b == nil {
		if len(r.requesters) >= maxRequesters {
			for k, o := range r.requesters {
				if o.fill(now, per); o.left >= float64(per) {
					delete(r.requesters, k)
				}
			}
		}
		b = &bucket{}
		r.requesters[requester] = b
	}
	b.fill(now, per)
	r.room.fill(now, all)
	granted := min(n, int(b.left), int(r.room.left))
	b.left -= float64(granted)
	r.room.left -= float64(granted)
	if granted == n {
		return n, 0
	}
	// The rest comes when the tighter bucket has refilled that much.
	rest := float64(n - granted)
	wait := max(time.Duration((rest-b.left)/float64(per)*float64(time.Minute)),
		time.Duration((rest-r.room.left)/float64(all)*float64(time.Minute)))
	return granted, min(max(wait, time.Second), time.Minute)
}
