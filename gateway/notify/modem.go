package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/devices/modem"
)

// CallRing is how long an alarm call rings before the modem hangs up: the
// person sees who called and reads the SMS.
const CallRing = 30 * time.Second

// SMS is the sms channel through the room's modem.
type SMS struct{ Modem *modem.Modem }

// Send implements Channel.
func (s SMS) Send(ctx context.Context, p Person, message string) error {
	if p.Phone == "" {
		return fmt.Errorf("notify: %s has no phone number", p.ID)
	}
	return s.Modem.SMS(ctx, p.Phone, message)
}

// Call is the call channel through the room's modem.
type Call struct{ Modem *modem.Modem }

// Send implements Channel: it rings p's phone.
func (c Call) Send(ctx context.Context, p Person, _ string) error {
	if p.Phone == "" {
		return fmt.Errorf("notify: %s has no phone number", p.ID)
	}
	return c.Modem.Call(ctx, p.Phone, CallRing)
}

// Channels are the channels through m.
func Channels(m *modem.Modem) map[string]Channel {
	return map[string]Channel{"sms": SMS{m}, "call": Call{m}}
}
