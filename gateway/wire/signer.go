package wire

import (
	"crypto/ed25519"
	"sync"

	"github.com/roomguard/roomguard/gateway"
)

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
