package room

import (
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// KeyChanged records a safe's combination changed, or a door's key
// (safe/combination-changed, 钥匙/密码, issue 31): two people, each through
// their own channel. The first asks (safe.combination_asked), naming the
// witness and the holder; the witness confirms with the same command,
// naming the first as witness, within gateway.SecondWindow and through
// another channel: safe.combination_changed, in the change of the
// confirmation. It returns whether the change is recorded (else it waits
// for the witness).
func (r *Room) KeyChanged(q gateway.KeyChange) (done bool, err error) {
	const op = "safe/combination-changed"
	kind := r.keyKind(q.Subject)
	if kind == "" {
		return false, gateway.Errorf(gateway.EINVALID, "%s: safe: %q is neither a safe nor a door of this room", op, q.Subject)
	}
	switch {
	case strings.TrimSpace(q.Holder) == "" || strings.TrimSpace(q.Witness) == "":
		return false, gateway.Errorf(gateway.EINVALID, "%s: holder and witness are needed", op)
	case gateway.SamePerson(q.By, q.Witness):
		return false, gateway.Errorf(gateway.ESAMEPERSON, "%s: witness: %s changes it and cannot witness it too", op, q.By)
	}
	for _, f := range []struct{ field, id string }{{"holder", q.Holder}, {"witness", q.Witness}} {
		p, err := r.Access.reg.Person(f.id)
		if err != nil {
			return false, err
		}
		if p == nil {
			return false, gateway.Errorf(gateway.EUNKNOWNPERSON, "%s: %s: %q is not in the personnel register", op, f.field, f.id)
		}
	}
	p := r.Panel
	err = p.do(func(c *change) error {
		asked := p.keyAsks[q.Subject]
		if asked != nil && c.now.Sub(asked.at) > gateway.SecondWindow {
			asked = nil
		}
		if asked == nil || !gateway.SamePerson(asked.Witness, q.By) {
			if asked != nil && gateway.SamePerson(asked.By, q.By) {
				return gateway.Errorf(gateway.ESAMEPERSON, "%s: %s asked already: %s, the witness, confirms it", op, q.By, asked.Witness)
			}
			if p.keyAsks == nil {
				p.keyAsks = map[string]*keyAsk{}
			}
			prev := p.keyAsks[q.Subject]
			p.keyAsks[q.Subject] = &keyAsk{KeyChange: q, at: c.now}
			c.failed = append(c.failed, func() { p.keyAsks[q.Subject] = prev })
			c.event("safe.combination_asked", gateway.SeverityInfo, q.Subject, q.By, map[string]any{"subject": q.Subject, "kind": kind,
				"holder": q.Holder, "by": q.By, "witness": q.Witness, "window_s": int64(gateway.SecondWindow.Seconds())})
			return nil
		}
		switch {
		case !gateway.SamePerson(asked.By, q.Witness):
			return gateway.Errorf(gateway.EINVALID, "%s: witness: the change was asked by %s; the witness names them", op, asked.By)
		case !gateway.SamePerson(asked.Holder, q.Holder):
			return gateway.Errorf(gateway.EINVALID, "%s: holder: %s was asked with %s as holder, not %s", op, asked.By, asked.Holder, q.Holder)
		case asked.Via != "" && asked.Via == q.Via:
			return gateway.Errorf(gateway.ESAMEPERSON, "%s: %s confirms through the channel %s asked through (%s): the witness signs from their own session or key", op, q.By, asked.By, q.Via)
		}
		delete(p.keyAsks, q.Subject)
		c.failed = append(c.failed, func() { p.keyAsks[q.Subject] = asked })
		c.event("safe.combination_changed", gateway.SeverityInfo, q.Subject, asked.By, map[string]any{"subject": q.Subject, "kind": kind,
			"holder": asked.Holder, "by": asked.By, "witness": q.By})
		done = true
		return nil
	})
	return done, err
}

// keyAsk is a key change asked for, waiting for its witness.
type keyAsk struct {
	gateway.KeyChange
	at time.Time
}

// keyKind says what subject is: a safe (its combination), a door (its
// key), or nothing of the room.
func (r *Room) keyKind(subject string) string {
	if slices.ContainsFunc(r.cfg.Safes, func(s gateway.SafeConfig) bool { return s.ID == subject }) {
		return gateway.KeyCombination
	}
	for _, st := range r.Engine.States() {
		if st.Device == subject && st.Kind == string(gateway.KindDoor) {
			return gateway.KeyDoor
		}
	}
	return ""
}
