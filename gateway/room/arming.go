package room

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Arming: the readiness rule, the exit delay and its second look, the
// bypass, disarming.

// exitEnds takes the second look when the exit delay ends: the room arms
// only if it is still ready (with the arming's bypass). Otherwise it is an
// exit fault (EN 50131-1): the room stays open, an alarm names every point,
// and the siren and indicators chirp to tell the person leaving.
func (p *Panel) exitEnds(c *change) {
	s := c.next
	s.ExitUntil = time.Time{}
	sealing := s.SealOnExit
	rs := p.ready(c, s.Bypassed)
	if len(rs) == 0 && sealing != nil { // confirmed by two badges: the seal
		p.seal(c, sealing)
		if v := p.vault; v != nil { // the seal's inventory, once the seal is in the log
			by := sealing[len(sealing)-1]
			c.published = append(c.published, func() {
				go func() {
					if _, err := v.Inventory(gateway.InventorySeal, by); err != nil {
						p.logger().Error("the seal's inventory not taken", "err", err)
					}
				}()
			})
		}
		return
	}
	if len(rs) == 0 {
		c.event("mode.armed", gateway.SeverityInfo, "", first(s.By), map[string]any{"by": s.By})
		return
	}
	by := s.By
	s.Mode, s.Since, s.Bypassed, s.SealOnExit = gateway.ModeOpen, c.now, nil, nil
	c.event("mode.exit_fault", gateway.SeverityWarning, "", first(by), map[string]any{"by": by, "reasons": rs})
	var parts []string
	for _, r := range rs {
		parts = append(parts, r.Detail)
	}
	p.raise(c, gateway.AlarmExitFault, "", "not armed: at the end of the exit delay "+strings.Join(parts, "; "), false)
	c.chirp = true
}

// ready lists every reason the room cannot be armed or sealed now: the one
// rule, asked when arming is requested, when a seal is confirmed, and again
// when the exit delay ends. Every door, window and safe closed and locked;
// no motion; no active tamper or panic input; no open alarm of class tamper,
// panic, duress, device-fault or board-silent (a jammed lock, a cut zone, a
// silent board), nor a gateway fault (what it failed to record may be a
// point not ready); nobody inside; every carrier home. A bypass leaves out the
// points it names, never a tamper or a panic.
func (p *Panel) ready(c *change, bypass *gateway.Bypass) []gateway.Reason {
	s := c.next
	var rs []gateway.Reason
	seen := map[string]bool{}
	add := func(r gateway.Reason) {
		if k := r.Code + "/" + r.Device; !seen[k] {
			seen[k] = true
			rs = append(rs, r)
		}
	}
	skip := map[string]bool{}
	if bypass != nil {
		for _, d := range bypass.Devices {
			skip[d] = true
		}
	}
	for _, d := range c.devices() {
		if !d.Active {
			continue
		}
		switch gateway.InputKind(d.Kind) {
		case gateway.KindTamper: // 24-hour: never bypassed
			add(gateway.Reason{Code: "tamper", Device: d.Device, Detail: fmt.Sprintf("tamper %s is active", d.Device)})
		case gateway.KindPanic, gateway.KindDuress:
			add(gateway.Reason{Code: "panic", Device: d.Device, Detail: fmt.Sprintf("%s input %s is active", d.Kind, d.Device)})
		case gateway.KindSmoke:
			add(gateway.Reason{Code: "fire", Device: d.Device, Detail: fmt.Sprintf("smoke detector %s is active", d.Device)})
		case gateway.KindWater:
			add(gateway.Reason{Code: "water", Device: d.Device, Detail: fmt.Sprintf("water-leak sensor %s is active", d.Device)})
		}
		if skip[d.Device] {
			continue
		}
		switch gateway.InputKind(d.Kind) {
		case gateway.KindDoor, gateway.KindWindow:
			add(gateway.Reason{Code: "open", Device: d.Device, Detail: fmt.Sprintf("%s %s is open", d.Kind, d.Device)})
		case gateway.KindIRDetector:
			add(gateway.Reason{Code: "motion", Device: d.Device, Detail: fmt.Sprintf("motion on %s", d.Device)})
		case gateway.KindSafeBolt:
			add(gateway.Reason{Code: "safe-unlocked", Device: d.Device, Detail: fmt.Sprintf("safe bolt %s is unlocked", d.Device)})
		case gateway.KindSafeDoor:
			add(gateway.Reason{Code: "safe-open", Device: d.Device, Detail: fmt.Sprintf("safe door %s is open", d.Device)})
		}
	}
	for _, a := range s.Alarms {
		switch a.Class {
		case gateway.AlarmTamper:
			add(gateway.Reason{Code: "tamper", Device: a.Device, Detail: fmt.Sprintf("tamper on %s (alarm %s, %s)", a.Device, a.ID, a.State())})
		case gateway.AlarmPanic, gateway.AlarmDuress:
			add(gateway.Reason{Code: "panic", Device: a.Device, Detail: fmt.Sprintf("%s on %s (alarm %s, %s)", a.Class, a.Device, a.ID, a.State())})
		case gateway.AlarmGatewayFault: // what the gateway failed to record may be a point not ready
			add(gateway.Reason{Code: "fault", Device: a.Device, Detail: fmt.Sprintf("%s (alarm %s, %s): %s", a.Class, a.ID, a.State(), a.Detail)})
		case gateway.AlarmDeviceFault, gateway.AlarmBoardSilent:
			if !skip[a.Device] {
				add(gateway.Reason{Code: "fault", Device: a.Device, Detail: fmt.Sprintf("%s on %s (alarm %s, %s)", a.Class, a.Device, a.ID, a.State())})
			}
		}
	}
	if in := p.access.Inside(); len(in) > 0 {
		add(gateway.Reason{Code: "occupied", Device: "", Detail: "still inside: " + strings.Join(in, ", ")})
	}
	if p.vault != nil {
		for _, r := range p.vault.Away() {
			if !skip[r.Device] {
				add(r)
			}
		}
	}
	return rs
}

// Arm arms the room: refused, with every reason, unless the preconditions
// hold (or are bypassed); then the exit delay runs.
func (p *Panel) Arm(by string) error {
	if strings.TrimSpace(by) == "" {
		return gateway.Errorf(gateway.EINVALID, "arm: who arms is missing")
	}
	return p.do(func(c *change) error { return p.arm(c, by) })
}

func (p *Panel) arm(c *change, by string) error {
	s := c.next
	switch s.Mode {
	case gateway.ModeArmed:
		return gateway.Errorf(gateway.ECONFLICT, "arm: the room is already armed")
	case gateway.ModeSealed:
		return gateway.Errorf(gateway.ECONFLICT, "arm: the room is sealed; unseal it first")
	}
	if rs := p.ready(c, s.Bypass); len(rs) > 0 {
		return p.refuse(c, "arm", by, rs)
	}
	s.Mode, s.Since, s.By = gateway.ModeArmed, c.now, []string{by}
	s.ExitUntil = c.now.Add(p.cfg.ExitDelay)
	s.Bypassed, s.Bypass = s.Bypass, nil
	data := map[string]any{"by": by, "exit_delay_s": int64(p.cfg.ExitDelay.Seconds())}
	if s.Bypassed != nil {
		data["bypass"] = s.Bypassed
	}
	c.event("mode.arming", gateway.SeverityInfo, "", by, data)
	return nil
}

// refuse records the refusal (do keeps its event, undoes everything else).
func (p *Panel) refuse(c *change, op, by string, rs []gateway.Reason) error {
	c.event("arming.refused", gateway.SeverityWarning, "", by, map[string]any{"op": op, "by": by, "reasons": rs})
	return &gateway.RefusedError{Op: op, Reasons: rs}
}

// Disarm ends an arming (or its exit or entry delay).
func (p *Panel) Disarm(by string) error {
	if strings.TrimSpace(by) == "" {
		return gateway.Errorf(gateway.EINVALID, "disarm: who disarms is missing")
	}
	return p.do(func(c *change) error { return p.disarm(c, by) })
}

func (p *Panel) disarm(c *change, by string) error {
	s := c.next
	switch s.Mode {
	case gateway.ModeOpen:
		return gateway.Errorf(gateway.ECONFLICT, "disarm: the room is not armed")
	case gateway.ModeSealed:
		return gateway.Errorf(gateway.ECONFLICT, "disarm: the room is sealed; unsealing needs two people")
	}
	data := map[string]any{"by": by}
	if !s.EntryUntil.IsZero() {
		data["during_entry_delay"] = true
	}
	s.Mode, s.Since, s.By = gateway.ModeOpen, c.now, []string{by}
	s.ExitUntil, s.EntryUntil, s.EntryDevice, s.Bypassed, s.SealOnExit = time.Time{}, time.Time{}, "", nil, nil
	c.event("mode.disarmed", gateway.SeverityInfo, "", by, data)
	return nil
}

// SetBypass registers devices to leave out of the next arming, with a reason.
func (p *Panel) SetBypass(by, reason string, devices []string) error {
	switch {
	case strings.TrimSpace(by) == "":
		return gateway.Errorf(gateway.EINVALID, "bypass: who bypasses is missing")
	case strings.TrimSpace(reason) == "":
		return gateway.Errorf(gateway.EINVALID, "bypass: a reason is required")
	case len(devices) == 0:
		return gateway.Errorf(gateway.EINVALID, "bypass: no devices")
	}
	known := map[string]gateway.InputKind{}
	for _, d := range p.engine.States() {
		known[d.Device] = gateway.InputKind(d.Kind)
	}
	for _, d := range devices {
		k, ok := known[d]
		if !ok {
			return gateway.Errorf(gateway.ENOTFOUND, "bypass: no device %q", d)
		}
		if k.TwentyFourHour() {
			return gateway.Errorf(gateway.EINVALID, "bypass: %s is a 24-hour zone (%s) and cannot be bypassed", d, k)
		}
	}
	sorted := append([]string(nil), devices...)
	sort.Strings(sorted)
	return p.do(func(c *change) error {
		if c.next.Mode != gateway.ModeOpen {
			return gateway.Errorf(gateway.ECONFLICT, "bypass: only before arming (the room is %s)", c.next.Mode)
		}
		c.next.Bypass = &gateway.Bypass{Devices: sorted, Reason: reason, By: by, At: c.now}
		c.event("arming.bypass", gateway.SeverityWarning, "", by, map[string]any{"by": by, "reason": reason, "devices": sorted})
		return nil
	})
}
