package room

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/roomguard/roomguard/gateway"
)

// Seal records one person's confirmation of sealing the room; the second
// distinct person within the two-person window seals it, if the arming
// preconditions hold. The room must be open.
func (p *Panel) Seal(by string) (gateway.SealStep, error) {
	return p.twoPerson("seal", by, by)
}

// SealVia is Seal by a person who confirmed through channel via (the
// principal that signed the command, and its session): the two people
// confirm through two channels, so one console session, or one key,
// cannot seal alone by naming two people.
func (p *Panel) SealVia(by, via string) (gateway.SealStep, error) {
	return p.twoPerson("seal", by, via)
}

// Unseal records one person's confirmation of unsealing; the second distinct
// person within the window unseals the room and produces the seal report.
func (p *Panel) Unseal(by string) (gateway.SealStep, error) {
	return p.twoPerson("unseal", by, by)
}

// UnsealVia is Unseal through channel via, like SealVia.
func (p *Panel) UnsealVia(by, via string) (gateway.SealStep, error) {
	return p.twoPerson("unseal", by, via)
}

func (p *Panel) twoPerson(op, by, via string) (gateway.SealStep, error) {
	if strings.TrimSpace(by) == "" {
		return gateway.SealStep{}, gateway.Errorf(gateway.EINVALID, "%s: who confirms is missing", op)
	}
	var step gateway.SealStep
	err := p.do(func(c *change) (err error) {
		step, err = p.sealStep(c, op, by, via)
		return err
	})
	if err != nil {
		return gateway.SealStep{}, err
	}
	return step, nil
}

func (p *Panel) sealStep(c *change, op, by, via string) (gateway.SealStep, error) {
	s := c.next
	switch {
	case op == "seal" && s.Mode != gateway.ModeOpen:
		return gateway.SealStep{}, gateway.Errorf(gateway.ECONFLICT, "seal: the room is %s; seal it from open", s.Mode)
	case op == "unseal" && s.Mode != gateway.ModeSealed:
		return gateway.SealStep{}, gateway.Errorf(gateway.ECONFLICT, "unseal: the room is not sealed")
	}
	pend := s.Pending
	if pend != nil && (pend.Op != op || c.now.Sub(pend.At) > p.cfg.TwoPersonWindow) {
		pend = nil // another operation's, or too old
	}
	badge := strings.HasPrefix(via, "badge:") // Room.confirmByBadge's; no principal's name has a colon
	if pend == nil {
		// A seal confirmed by badge at the inside reader is given from
		// inside: the room is looked at when the exit delay ends.
		if op == "seal" && !badge {
			if rs := p.ready(c, nil); len(rs) > 0 {
				return gateway.SealStep{}, p.refuse(c, op, by, rs)
			}
		}
		s.Pending = &gateway.Confirmation{Op: op, By: by, At: c.now, Via: via}
		c.event("seal.confirmation", gateway.SeverityInfo, "", by, map[string]any{"op": op, "by": by,
			"window_s": int64(p.cfg.TwoPersonWindow.Seconds())})
		return gateway.SealStep{Waiting: by}, nil
	}
	if gateway.SamePerson(pend.By, by) {
		return gateway.SealStep{}, gateway.Errorf(gateway.ESAMEPERSON, "%s: needs two different people; %s has already confirmed", op, pend.By)
	}
	if pend.Via == via {
		return gateway.SealStep{}, gateway.Errorf(gateway.ECONFLICT, "%s: %s confirmed through the same channel as %s (%s): the second person confirms from their own console session or key", op, by, pend.By, via)
	}
	who := []string{pend.By, by}
	s.Pending = nil
	if op == "seal" && badge && strings.HasPrefix(pend.Via, "badge:") {
		// Both at the inside reader: they leave through the exit delay,
		// at whose end the one readiness rule seals the room or not.
		s.Mode, s.Since, s.By, s.SealOnExit = gateway.ModeArmed, c.now, who, who
		s.ExitUntil = c.now.Add(p.cfg.ExitDelay)
		s.Bypassed, s.Bypass = nil, nil
		c.event("mode.arming", gateway.SeverityInfo, "", by, map[string]any{"by": who, "seal": true,
			"exit_delay_s": int64(p.cfg.ExitDelay.Seconds())})
		return gateway.SealStep{}, nil
	}
	if op == "seal" {
		if rs := p.ready(c, nil); len(rs) > 0 {
			return gateway.SealStep{}, p.refuse(c, op, by, rs)
		}
		p.seal(c, who)
		return gateway.SealStep{Done: true}, nil
	}
	seal := s.Seal
	// The last seq first: events logged meanwhile come after it, so a gap
	// below it is a gap in the log, never a race.
	last, head := p.log.Head()
	during, err := p.log.Query(gateway.EventFilter{AfterSeq: seal.Seq})
	if err != nil {
		return gateway.SealStep{}, fmt.Errorf("unseal: read the events of the seal: %w", err)
	}
	snap := p.snapshot(c)
	carriers := p.carriersInSafes()
	r := &gateway.SealReport{SealID: seal.ID, Room: p.room, SealedBy: seal.By, SealedAt: seal.At.Format(gateway.TimeFormat),
		UnsealedBy: who, UnsealedAt: c.now.Format(gateway.TimeFormat), SealSnapshot: seal.Snapshot, UnsealSnapshot: snap,
		SealCarriers: seal.Carriers, UnsealCarriers: carriers,
		Events: during, BrokenAlarms: seal.Broken,
		Chain: &gateway.ReportChain{Through: last, Head: head}}
	changed := append(differences(seal.Snapshot, snap), carrierDifferences(seal.Carriers, carriers)...)
	for _, f := range changed {
		r.Differences = append(r.Differences, f.Difference())
	}
	judge(r, seal.Seq, last, changed)
	s.Mode, s.Since, s.By, s.Seal = gateway.ModeOpen, c.now, who, nil
	c.report = r
	c.event("mode.unsealed", gateway.SeverityInfo, "", by, map[string]any{"by": who, "seal_id": seal.ID, "verdict": r.Verdict})
	c.event("seal.report", severityOfVerdict(r.Verdict), "", "", map[string]any{"seal_id": seal.ID, "verdict": r.Verdict,
		"events": len(during), "broken_alarms": seal.Broken, "causes": r.Causes})
	return gateway.SealStep{Done: true, Report: r}, nil
}

// seal seals the room now, by who (the preconditions held).
func (p *Panel) seal(c *change, who []string) {
	s := c.next
	snap := p.snapshot(c)
	s.Mode, s.Since, s.By, s.SealOnExit = gateway.ModeSealed, c.now, who, nil
	// The time to the millisecond: two seals within a second (a seal, an
	// unseal and a seal again) are two reports.
	s.Seal = &gateway.Seal{ID: fmt.Sprintf("%s-seal-%s", p.room, c.now.UTC().Format("20060102T150405.000")), By: who, At: c.now, Snapshot: snap,
		Carriers: p.carriersInSafes()}
	s.Bypass = nil
	c.sealed = len(c.events)
	data := map[string]any{"by": who, "seal_id": s.Seal.ID, "snapshot": snap}
	if s.Seal.Carriers != nil {
		data["carriers"] = s.Seal.Carriers
	}
	c.event("mode.sealed", gateway.SeverityInfo, "", who[len(who)-1], data)
}

func severityOfVerdict(v string) gateway.Severity {
	switch v {
	case gateway.SealBroken:
		return gateway.SeverityCritical
	case gateway.SealUnverified:
		return gateway.SeverityWarning
	}
	return gateway.SeverityInfo
}

// judge gives the report its verdict, the one rule of the seal: intact only
// when, between the seal (event sealSeq) and now (the log's last event,
// lastSeq), no alarm of any class was raised, no input changed, no event is
// missing from the log and the gateway ran the whole time. Otherwise broken,
// with every cause; unverified when the only cause is the gateway's downtime.
// Never intact by omission.
func judge(r *gateway.SealReport, sealSeq, lastSeq uint64, changed []gateway.SealFinding) {
	var found []gateway.SealFinding
	at := func(e gateway.Event) string { return e.TS.Format(gateway.TimeFormat) }
	next := sealSeq + 1
	gap := func(to uint64) {
		if to > next {
			found = append(found, gateway.SealFinding{Kind: gateway.FindingMissing, Seq: next, To: to - 1})
		}
	}
	for _, e := range r.Events {
		gap(e.Seq)
		next = e.Seq + 1
		var d struct {
			Alarm        string             `json:"alarm"`
			Class        gateway.AlarmClass `json:"class"`
			Detail       string             `json:"detail"`
			PreviousStop string             `json:"previous_stop"`
		}
		if len(e.Data) > 0 {
			if err := json.Unmarshal(e.Data, &d); err != nil { // never intact by omission
				found = append(found, gateway.SealFinding{Kind: gateway.FindingUnreadable, At: at(e), Seq: e.Seq, Type: e.Type, Detail: err.Error()})
				continue
			}
		}
		switch {
		case e.Type == "alarm.raised" || e.Type == "alarm.repeated":
			found = append(found, gateway.SealFinding{Kind: gateway.FindingAlarm, At: at(e), Seq: e.Seq, Type: e.Type,
				Class: string(d.Class), Alarm: d.Alarm, Device: e.Device, Detail: d.Detail})
		case e.Type == "gateway.started":
			from := d.PreviousStop
			if from == "" {
				from = "unknown"
			}
			r.Downtime = append(r.Downtime, gateway.Downtime{From: from, To: at(e)})
		case gateway.IsInputEvent(e.Type) && e.Device != "":
			found = append(found, gateway.SealFinding{Kind: gateway.FindingInput, At: at(e), Seq: e.Seq, Type: e.Type, Device: e.Device})
		}
	}
	gap(lastSeq + 1)
	found = append(found, changed...)
	r.Verdict = gateway.SealIntact
	switch {
	case len(found) > 0:
		r.Verdict = gateway.SealBroken
	case len(r.Downtime) > 0:
		r.Verdict = gateway.SealUnverified
	}
	for _, d := range r.Downtime {
		found = append(found, gateway.SealFinding{Kind: gateway.FindingDowntime, From: d.From, At: d.To})
	}
	r.Findings, r.Causes = found, nil
	for _, f := range found {
		r.Causes = append(r.Causes, f.String())
	}
}

// carriersInSafes is the carriers part of a seal snapshot; nil in a room
// without carrier tracking.
func (p *Panel) carriersInSafes() map[string][]string {
	if p.vault == nil {
		return nil
	}
	m := p.vault.InSafes()
	if m == nil {
		m = map[string][]string{}
	}
	return m
}

// carrierDifferences finds each carrier in a safe at sealing and not there
// at unsealing, or the other way round.
func carrierDifferences(sealed, unsealed map[string][]string) []gateway.SealFinding {
	if sealed == nil || unsealed == nil {
		return nil
	}
	where := func(m map[string][]string) map[string]string {
		out := map[string]string{}
		for safe, ids := range m {
			for _, id := range ids {
				out[id] = safe
			}
		}
		return out
	}
	a, b := where(sealed), where(unsealed)
	var out []gateway.SealFinding
	for id, safe := range a {
		if b[id] != safe {
			out = append(out, gateway.SealFinding{Kind: gateway.FindingCarrier, Device: id, Was: safe, Now: b[id]})
		}
	}
	for id, safe := range b {
		if a[id] == "" {
			out = append(out, gateway.SealFinding{Kind: gateway.FindingCarrier, Device: id, Now: safe})
		}
	}
	slices.SortFunc(out, func(x, y gateway.SealFinding) int { return strings.Compare(x.Difference(), y.Difference()) })
	return out
}

// snapshot is the state of every door, window and safe now.
func (p *Panel) snapshot(c *change) []gateway.DeviceState {
	var out []gateway.DeviceState
	for _, d := range c.devices() {
		switch gateway.InputKind(d.Kind) {
		case gateway.KindDoor, gateway.KindWindow, gateway.KindSafeBolt, gateway.KindSafeDoor, gateway.KindSafe:
			out = append(out, d)
		}
	}
	return out
}

func differences(a, b []gateway.DeviceState) []gateway.SealFinding {
	at := map[string]string{}
	for _, d := range a {
		at[d.Device] = d.State
	}
	var out []gateway.SealFinding
	for _, d := range b {
		if was, ok := at[d.Device]; ok && was != d.State {
			out = append(out, gateway.SealFinding{Kind: gateway.FindingChanged, Device: d.Device, Was: was, Now: d.State})
		}
	}
	return out
}
