package room

import (
	"fmt"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Alarms: raised (or counted as a repeat), sounded, acknowledged,
// restored and closed, each in the change that caused it.

// raise opens an alarm of class for device, or counts on the open alarm of
// the same condition. stillActive tells whether the condition is present
// now (if not, the alarm is restored at once: it still needs an ack).
func (p *Panel) raise(c *change, class gateway.AlarmClass, device, detail string, stillActive bool) *gateway.Alarm {
	spec, _ := class.Spec()
	return p.raiseAt(c, class, spec.Priority, device, detail, stillActive)
}

// raiseAt is raise with the alarm's priority given (a missing carrier's is
// its classification's), not the class's.
func (p *Panel) raiseAt(c *change, class gateway.AlarmClass, priority int, device, detail string, stillActive bool) *gateway.Alarm {
	spec, _ := class.Spec()
	spec.Priority = priority
	s := c.next
	for _, a := range s.Alarms {
		if a.Class == class && a.Device == device {
			a.Count++
			if stillActive {
				a.RestoredAt = time.Time{}
			}
			if skipped, log := p.repeats.take(a.ID, c.now, s.Alarms); log {
				data := map[string]any{"alarm": a.ID, "class": class, "count": a.Count}
				if skipped > 0 {
					data["not_logged"] = skipped
				}
				c.event("alarm.repeated", spec.Severity, device, "", data)
			} else {
				c.counted = true
			}
			p.sound(c, spec)
			return a
		}
	}
	s.NextAlarm++
	a := &gateway.Alarm{ID: fmt.Sprintf("%s-%d", p.room, s.NextAlarm), Class: class, Priority: spec.Priority, Device: device,
		Detail: detail, Silent: spec.Silent, RaisedAt: c.now, Count: 1}
	if !stillActive {
		a.RestoredAt = c.now
	}
	s.Alarms = append(s.Alarms, a)
	c.raised[len(c.events)] = a
	data := map[string]any{"alarm": a.ID, "class": class, "priority": spec.Priority, "silent": spec.Silent, "detail": detail, "mode": s.Mode}
	if !stillActive {
		data["restored"] = true // the condition is already over: an ack closes it
	}
	c.event("alarm.raised", spec.Severity, device, "", data)
	if s.Seal != nil && class == gateway.AlarmSealBroken {
		s.Seal.Broken = append(s.Seal.Broken, a.ID)
	}
	p.sound(c, spec)
	return a
}

func (p *Panel) sound(c *change, spec gateway.AlarmSpec) {
	if !spec.Audible || spec.Silent {
		return
	}
	c.next.SirenOn = true
	c.next.SirenUntil = c.now.Add(p.cfg.SirenCutoff)
}

// Raise opens an alarm for another capability (entry control, carriers,
// boards). It returns the alarm's id.
func (p *Panel) Raise(class gateway.AlarmClass, device, detail string) (string, error) {
	if _, ok := class.Spec(); !ok {
		return "", gateway.Errorf(gateway.EINVALID, "no alarm class %q", class)
	}
	var id string
	err := p.do(func(c *change) error {
		id = p.raise(c, class, device, detail, true).ID
		return nil
	})
	return id, err
}

// RaiseRestored opens an alarm for a condition that is already over when it
// is seen (five denials, a visitor left alone): it needs only an ack to close.
func (p *Panel) RaiseRestored(class gateway.AlarmClass, device, detail string) (string, error) {
	if _, ok := class.Spec(); !ok {
		return "", gateway.Errorf(gateway.EINVALID, "no alarm class %q", class)
	}
	var id string
	err := p.do(func(c *change) error {
		id = p.raise(c, class, device, detail, false).ID
		return nil
	})
	return id, err
}

// Restore marks the open alarms of class for device as restored.
func (p *Panel) Restore(class gateway.AlarmClass, device string) error {
	return p.do(func(c *change) error {
		p.restore(c, func(a *gateway.Alarm) bool { return a.Class == class && a.Device == device })
		return nil
	})
}

func (p *Panel) restore(c *change, match func(*gateway.Alarm) bool) {
	var keep []*gateway.Alarm
	for _, a := range c.next.Alarms {
		if match(a) && !a.Restored() {
			a.RestoredAt = c.now
			c.event("alarm.restored", gateway.SeverityInfo, a.Device, "", map[string]any{"alarm": a.ID, "class": a.Class})
			if a.Acknowledged() {
				p.close(c, a)
				continue
			}
		}
		keep = append(keep, a)
	}
	c.next.Alarms = keep
}

func (p *Panel) close(c *change, a *gateway.Alarm) {
	a.ClosedAt = c.now
	c.event("alarm.closed", gateway.SeverityInfo, a.Device, "", map[string]any{"alarm": a.ID, "class": a.Class,
		"ack_by": a.AckBy, "open_s": int64(c.now.Sub(a.RaisedAt).Seconds())})
}

// restoresWithDevice tells which alarms end their condition when their
// device returns to normal.
func restoresWithDevice(c gateway.AlarmClass) bool {
	switch c {
	case gateway.AlarmIntrusion, gateway.AlarmSealBroken, gateway.AlarmTamper, gateway.AlarmPanic, gateway.AlarmDuress, gateway.AlarmSafeOpened, gateway.AlarmDoorForced, gateway.AlarmDoorHeldOpen,
		gateway.AlarmFire, gateway.AlarmWater, gateway.AlarmEnvironment:
		return true
	}
	return false
}

// Ack acknowledges an alarm with a comment. An acknowledged alarm that is
// also restored closes.
func (p *Panel) Ack(id, by, comment string) error {
	if strings.TrimSpace(by) == "" {
		return gateway.Errorf(gateway.EINVALID, "ack: who acknowledges is missing")
	}
	if strings.TrimSpace(comment) == "" {
		return gateway.Errorf(gateway.EINVALID, "ack: a comment is required (what was found, what was done)")
	}
	return p.do(func(c *change) error { return p.ack(c, id, by, comment) })
}

func (p *Panel) ack(c *change, id, by, comment string) error {
	var a *gateway.Alarm
	for _, x := range c.next.Alarms {
		if x.ID == id {
			a = x
		}
	}
	if a == nil {
		return gateway.Errorf(gateway.ENOTFOUND, "ack: no open alarm %q", id)
	}
	if a.Acknowledged() {
		return gateway.Errorf(gateway.ECONFLICT, "ack: alarm %s was already acknowledged by %s", id, a.AckBy)
	}
	a.AckBy, a.AckAt, a.AckComment = by, c.now, comment
	c.event("alarm.acknowledged", gateway.SeverityInfo, a.Device, by, map[string]any{"alarm": a.ID, "class": a.Class, "comment": comment,
		"ack_s": int64(c.now.Sub(a.RaisedAt).Seconds())})
	if a.Restored() {
		p.close(c, a)
		var keep []*gateway.Alarm
		for _, x := range c.next.Alarms {
			if x != a {
				keep = append(keep, x)
			}
		}
		c.next.Alarms = keep
	}
	// The siren stops when no audible alarm is left unacknowledged.
	if c.next.SirenOn {
		loud := false
		for _, x := range c.next.Alarms {
			if spec, _ := x.Class.Spec(); spec.Audible && !x.Acknowledged() {
				loud = true
			}
		}
		if !loud {
			c.next.SirenOn, c.next.SirenUntil = false, time.Time{}
		}
	}
	return nil
}
