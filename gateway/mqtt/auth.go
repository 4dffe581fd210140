package mqtt

import (
	"crypto/ed25519"
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

// Nonces remembers the signed commands carried out (gateway/sqlite.Store).
type Nonces interface {
	Admit(e gateway.Envelope, now time.Time, keep time.Duration, trusted bool) error
}

// Auth decides whether the room believes a command: signed by a principal
// it trusts, who may send that command, fresh, and never seen before.
type Auth struct {
	Room       string
	Principals map[string]gateway.Principal
	// Unsigned accepts a command without an envelope as from principal
	// "unsigned": only a simulated room whose config says so.
	Unsigned bool
	Clock    gateway.Clock
	Nonces   Nonces
	// Refused is told of every command refused here (the room logs it,
	// and raises command-forgery when they come in a burst).
	Refused func(principal, cmd, code, detail string) error
	Log     func(msg string, args ...any)

	mu sync.Mutex
}

// UnsignedPrincipal is who an unsigned command comes from in a room that
// accepts them.
const UnsignedPrincipal = "unsigned"

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
		}
	}
	a.mu.Lock() // one admission at a time: the same nonce twice at once is still twice
	defer a.mu.Unlock()
	if err := a.Nonces.Admit(e, now, 2*Freshness, trusted); err != nil {
		return e.Principal, nil, err
	}
	return e.Principal, e.Cmd, nil
}

// Signer signs the commands of one principal.
type Signer struct {
	Principal string
	Key       ed25519.PrivateKey
	Clock     gateway.Clock

	mu   sync.Mutex
	last uint64
}

// Sign wraps cmd, the JSON of command name for room, in a signed envelope.
// Its counter is the time in milliseconds, or one above the last when the
// clock went back, so it rises as long as the signer lives.
func (s *Signer) Sign(room, name string, cmd []byte) ([]byte, error) {
	now := s.Clock.Now()
	s.mu.Lock()
	s.last = max(s.last+1, uint64(max(now.UnixMilli(), 1)))
	counter := s.last
	s.mu.Unlock()
	return gateway.SignCommand(s.Key, s.Principal, room, name, cmd, now, counter)
}
