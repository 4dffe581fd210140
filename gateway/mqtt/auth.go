package mqtt

import (
	"sync"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Freshness is how old a signed command may be, and how far ahead of the
// room's clock, while the clock is trusted.
const Freshness = 60 * time.Second

// futureSkew is how far ahead of the room's clock a command may be signed:
// two clocks synchronised to the same server differ by far less.
const futureSkew = 5 * time.Second

// Nonces keeps what the room has admitted, durably (gateway/sqlite.Store).
type Nonces interface {
	Remember(es []gateway.Envelope, now time.Time, keep time.Duration) error
	Remembered(since time.Time) (map[string]map[string]time.Time, map[string]uint64, error)
}

// Auth decides whether the room believes a command: signed by a principal
// it trusts, who may send that command, fresh, and never seen before.
//
// What it has admitted it remembers in memory, for the check, and in the
// log, durably, before the command is carried out (issue 27, finding 4: a
// write behind the check lost the last counters in a crash, and a gateway
// started again with the clock not trusted, where only the counter decides,
// carried the same command out twice). The write joins the log's group
// commit, so it costs a share of one fsync, not one of its own.
type Auth struct {
	Room       string
	Principals map[string]gateway.Principal
	// Unsigned accepts a command without an envelope as from principal
	// "unsigned": only a simulated room whose config says so.
	Unsigned bool
	Clock    gateway.Clock
	Nonces   Nonces
	// Started is when the gateway started: with a trusted clock, a
	// command signed before it is stale.
	Started time.Time
	// Refused is told of every command refused here (the room logs it,
	// and raises command-forgery when they come in a burst).
	Refused func(principal, cmd, code, detail string) error
	Log     func(msg string, args ...any)

	mu     sync.Mutex
	seen   map[string]map[string]time.Time // principal → nonce → when signed
	high   map[string]uint64               // principal → highest counter
	pruned time.Time
}

// UnsignedPrincipal is who an unsigned command comes from in a room that
// accepts them.
const UnsignedPrincipal = "unsigned"

// Load remembers what the log has kept of the commands admitted before.
func (a *Auth) Load() error {
	seen, high, err := a.Nonces.Remembered(a.Clock.Now().Add(-2 * Freshness))
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen, a.high = seen, high
	return nil
}

// Open checks the signed command payload for command name and returns who
// signed it and the command's own bytes. Every refusal is an *gateway.Error
// with its own code and is reported to Refused.
func (a *Auth) Open(name string, payload []byte) (string, []byte, error) {
	principal, cmd, err := a.open(name, payload)
	if err != nil && a.Refused != nil {
		if rerr := a.Refused(principal, name, gateway.ErrorCode(err), err.Error()); rerr != nil && a.Log != nil {
			a.Log("a refused command was not logged", "cmd", name, "err", rerr)
		}
	}
	return principal, cmd, err
}

func (a *Auth) open(name string, payload []byte) (string, []byte, error) {
	if !gateway.IsEnvelope(payload) {
		if a.Unsigned {
			return UnsignedPrincipal, payload, nil
		}
		return "", nil, gateway.Errorf(gateway.EUNAUTHENTICATED, "%s: the command is not signed (wrap it in an envelope signed by a principal of the room's config: docs/commands.md)", name)
	}
	e, err := gateway.ParseEnvelope(payload)
	if err != nil {
		return "", nil, gateway.Errorf(gateway.EUNAUTHENTICATED, "%s: %v", name, err)
	}
	p, ok := a.Principals[e.Principal]
	if !ok {
		return e.Principal, nil, gateway.Errorf(gateway.EUNAUTHENTICATED, "%s: %q is not a principal of room %s", name, e.Principal, a.Room)
	}
	if err := e.Verify(p.Key, a.Room, name); err != nil {
		return e.Principal, nil, err
	}
	if !p.May(name) {
		return e.Principal, nil, gateway.Errorf(gateway.EFORBIDDEN, "%s: %q may not send it (it may: %v)", name, e.Principal, p.Commands)
	}
	now := a.Clock.Now()
	trusted := a.Clock.Trusted()
	if trusted {
		if age := now.Sub(e.TS); age > Freshness {
			return e.Principal, nil, gateway.Errorf(gateway.ESTALE, "%s: signed %s ago, more than %s", name, age.Round(time.Second), Freshness)
		} else if -age > futureSkew {
			return e.Principal, nil, gateway.Errorf(gateway.ESTALE, "%s: signed %s in the future of the room's clock", name, (-age).Round(time.Second))
		} else if e.TS.Before(a.Started) {
			return e.Principal, nil, gateway.Errorf(gateway.ESTALE, "%s: signed before the gateway started (%s): send it again", name, a.Started.Format(gateway.TimeFormat))
		}
	}
	if err := a.admit(e, now, trusted); err != nil {
		return e.Principal, nil, err
	}
	return e.Principal, e.Cmd, nil
}

// admit refuses a nonce seen before, or with the clock not trusted a
// counter not above the last, and remembers this one: in memory at once (a
// copy sent twice at the same moment is refused), then in the log before
// it returns. A command whose nonce the log could not keep is refused
// (storage): carried out, it could be carried out again after a crash.
func (a *Auth) admit(e gateway.Envelope, now time.Time, trusted bool) error {
	a.mu.Lock()
	if a.seen == nil {
		a.seen, a.high = map[string]map[string]time.Time{}, map[string]uint64{}
	}
	if now.Sub(a.pruned) > Freshness {
		for p, ns := range a.seen {
			for n, at := range ns {
				if now.Sub(at) > 2*Freshness {
					delete(ns, n)
				}
			}
			if len(ns) == 0 {
				delete(a.seen, p)
			}
		}
		a.pruned = now
	}
	if _, dup := a.seen[e.Principal][e.Nonce]; dup {
		a.mu.Unlock()
		return gateway.Errorf(gateway.EREPLAYED, "the command of %q with nonce %s was carried out before", e.Principal, e.Nonce)
	}
	if last := max(a.high[e.Principal], a.high[gateway.AnyPrincipal]); !trusted && e.Counter <= last {
		// Time proves nothing: the counter decides (a restore sets a
		// floor for every principal: AnyPrincipal).
		defer a.mu.Unlock()
		return gateway.Errorf(gateway.EREPLAYED, "counter %d of %q is not above its last, %d (the clock is not trusted, so the counter decides)", e.Counter, e.Principal, last)
	}
	if a.seen[e.Principal] == nil {
		a.seen[e.Principal] = map[string]time.Time{}
	}
	a.seen[e.Principal][e.Nonce] = e.TS
	a.high[e.Principal] = max(a.high[e.Principal], e.Counter)
	a.mu.Unlock()
	if err := a.Nonces.Remember([]gateway.Envelope{e}, now, 2*Freshness); err != nil {
		return gateway.Errorf(gateway.ESTORAGE, "the command of %q could not be remembered in the log, so it is not carried out: %v", e.Principal, err)
	}
	return nil
}
