package room

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// A gateway fault is the room's own failure: a change it could not write to
// the log, an output it could not drive. No such error is dropped: the
// operation that failed returns it when someone asked for it, and in every
// case the panel raises a critical gateway-fault alarm. While the log refuses
// writes the alarm is held in memory and published (retained) at once; it is
// written to the log as soon as the log accepts writes again, naming what
// was lost.

// commitTries is how many times a change is written before it is given up.
const commitTries = 3

// faultRetry is how soon a held fault is written again.
const faultRetry = time.Second

// heldError is an error the panel has already raised as a gateway fault; a
// caller passing it to Fault does not raise it twice.
type heldError struct{ error }

func (e heldError) Unwrap() error { return e.error }

type heldFault struct {
	at   time.Time
	what string
	err  string
}

// heldAlarmID is the retained topic of the gateway fault not yet logged.
func (p *Panel) heldAlarmID() string { return p.room + "-gateway-fault" }

func (p *Panel) logger() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// Fault raises a gateway fault for what could not be done. It never blocks
// and never fails: the fault is logged, published, and written to the log
// with the next change (or within a second).
func (p *Panel) Fault(what string, err error) {
	if err == nil {
		return
	}
	var h heldError
	if errors.As(err, &h) {
		return // the panel raised it already
	}
	p.fault(what, err)
}

// fault holds a gateway fault; callable with p.mu held.
func (p *Panel) fault(what string, err error) {
	p.logger().Error("gateway fault", "room", p.room, "what", what, "err", err)
	now := p.clock.Now()
	p.fmu.Lock()
	p.held = append(p.held, heldFault{at: now, what: what, err: err.Error()})
	a := p.heldAlarm()
	if p.stopRetry == nil && !p.stopped.Load() {
		p.stopRetry = p.clock.AfterFunc(faultRetry, p.retryFaults)
	}
	p.fmu.Unlock()
	if p.sink != nil {
		p.sink.Alarm(a.ID, a.AlarmJSON(p.room))
	}
}

// heldAlarm is the alarm published for the held faults; with fmu held.
func (p *Panel) heldAlarm() *gateway.Alarm {
	spec, _ := gateway.AlarmGatewayFault.Spec()
	return &gateway.Alarm{ID: p.heldAlarmID(), Class: gateway.AlarmGatewayFault, Priority: spec.Priority, Device: "gateway",
		Detail: heldDetail(p.held), RaisedAt: p.held[0].at, Count: len(p.held)}
}

func heldDetail(hs []heldFault) string {
	var parts []string
	for _, h := range hs {
		parts = append(parts, fmt.Sprintf("%s: %s: %s", h.at.Format(gateway.TimeFormat), h.what, h.err))
	}
	return strings.Join(parts, "; ")
}

// retryFaults writes the held faults (a change of their own).
func (p *Panel) retryFaults() {
	p.fmu.Lock()
	p.stopRetry = nil
	p.fmu.Unlock()
	if err := p.do(func(*change) error { return nil }); err != nil {
		p.logger().Warn("gateway fault still not logged", "room", p.room, "err", err)
	}
}

// includeFaults adds the held faults to c as one gateway-fault alarm,
// restored at once (writing it proves the log works again); it returns how
// many it took. With p.mu held.
func (p *Panel) includeFaults(c *change) int {
	p.fmu.Lock()
	hs := append([]heldFault(nil), p.held...)
	p.fmu.Unlock()
	if len(hs) == 0 {
		return 0
	}
	p.raise(c, gateway.AlarmGatewayFault, "gateway", heldDetail(hs), false)
	return len(hs)
}

// faultsLogged drops the first n held faults, now in the log, and clears
// their retained alarm when none is left. With p.mu held.
func (p *Panel) faultsLogged(n int) {
	if n == 0 {
		return
	}
	p.fmu.Lock()
	p.held = p.held[n:]
	var a *gateway.Alarm
	if len(p.held) > 0 {
		a = p.heldAlarm()
	}
	p.fmu.Unlock()
	if p.sink == nil {
		return
	}
	if a == nil {
		p.sink.Alarm(p.heldAlarmID(), nil)
	} else {
		p.sink.Alarm(a.ID, a.AlarmJSON(p.room))
	}
}

// lostAlarms names the alarms a failed change would have raised.
func lostAlarms(c *change) string {
	var out []string
	for _, a := range c.raised {
		if a.Class != gateway.AlarmGatewayFault {
			out = append(out, fmt.Sprintf("%s on %s (%s)", a.Class, a.Device, a.Detail))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "; not recorded: " + strings.Join(out, ", ")
}

// soundUnlogged follows the alarm rules in memory when a change could not
// be written: a siren it would have sounded sounds now (the log is full,
// the intruder is not), until the siren's cut-off or until a change is
// written again and the logged state decides. It returns the sirens to
// drive once p.mu is let go. With p.mu held.
func (p *Panel) soundUnlogged(c *change) []actuation {
	if !c.next.SirenOn || p.st.SirenOn {
		return nil
	}
	p.fmu.Lock()
	defer p.fmu.Unlock()
	if p.stopUnlogged != nil {
		return nil // sounding already
	}
	p.stopUnlogged = p.clock.AfterFunc(p.cfg.SirenCutoff, func() {
		p.mu.Lock()
		p.fmu.Lock()
		over := p.stopUnlogged != nil
		p.stopUnlogged = nil
		p.fmu.Unlock()
		quiet := over && !p.st.SirenOn
		p.mu.Unlock()
		if quiet { // cut off
			p.qmu.Lock()
			p.acts = append(p.acts, p.engine.sirens(false)...)
			p.qmu.Unlock()
			p.drive()
		}
	})
	return p.engine.sirens(true)
}

// unloggedSirenOver hands the siren back to the logged state once a change
// was written: it returns the sirens to turn off (silenced) when the logged
// state has them off. With p.mu held.
func (p *Panel) unloggedSirenOver() []actuation {
	p.fmu.Lock()
	stop := p.stopUnlogged
	p.stopUnlogged = nil
	p.fmu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	if !p.st.SirenOn {
		return p.engine.sirens(false)
	}
	return nil
}
