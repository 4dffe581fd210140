package gateway

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// SealReport is what an unsealing produces: who sealed and unsealed and
// when, the room at both ends, every event in between, and the verdict.
type SealReport struct {
	SealID         string              `json:"seal_id"`
	Room           string              `json:"room"`
	SealedBy       []string            `json:"sealed_by"`
	SealedAt       string              `json:"sealed_at"`
	UnsealedBy     []string            `json:"unsealed_by"`
	UnsealedAt     string              `json:"unsealed_at"`
	SealSnapshot   []DeviceState       `json:"seal_snapshot"`
	UnsealSnapshot []DeviceState       `json:"unseal_snapshot"`
	SealCarriers   map[string][]string `json:"seal_carriers,omitempty"`   // per safe, at sealing
	UnsealCarriers map[string][]string `json:"unseal_carriers,omitempty"` // per safe, at unsealing
	Events         []Event             `json:"events"`
	Verdict        string              `json:"verdict"`          // intact, broken or unverified
	Causes         []string            `json:"causes,omitempty"` // every reason the verdict is not intact
	Downtime       []Downtime          `json:"downtime,omitempty"`
	BrokenAlarms   []string            `json:"broken_alarms,omitempty"`
	Differences    []string            `json:"differences,omitempty"` // devices whose state differs between the ends
}

// The seal verdicts.
const (
	SealIntact     = "intact"     // nothing at all happened while sealed
	SealBroken     = "broken"     // something happened: the causes say what
	SealUnverified = "unverified" // nothing seen, but the gateway was down for a while
)

// Downtime is a stretch of the seal the gateway did not watch: from its last
// sign of life (its last event, or its clean stop) to its start.
type Downtime struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// SealStep is the result of one person's seal or unseal confirmation.
type SealStep struct {
	Done    bool        // the second person confirmed: the operation happened
	Waiting string      // otherwise: who confirmed first
	Report  *SealReport // unseal: the report
	// Inventory: the inventory taken once done (see Sealer).
	Inventory      *InventoryReport
	InventoryError string
}

// Seal records one person's confirmation of sealing the room; the second
// distinct person within the two-person window seals it, if the arming
// preconditions hold. The room must be open.
func (p *Panel) Seal(by string) (SealStep, error) {
	return p.twoPerson("seal", by)
}

// Unseal records one person's confirmation of unsealing; the second distinct
// person within the window unseals the room and produces the seal report.
func (p *Panel) Unseal(by string) (SealStep, error) {
	return p.twoPerson("unseal", by)
}

func (p *Panel) twoPerson(op, by string) (SealStep, error) {
	if strings.TrimSpace(by) == "" {
		return SealStep{}, Errorf(EINVALID, "%s: who confirms is missing", op)
	}
	var step SealStep
	err := p.do(func(c *change) (err error) {
		step, err = p.sealStep(c, op, by)
		return err
	})
	if err != nil {
		return SealStep{}, err
	}
	return step, nil
}

func (p *Panel) sealStep(c *change, op, by string) (SealStep, error) {
	s := c.next
	switch {
	case op == "seal" && s.Mode != ModeOpen:
		return SealStep{}, Errorf(ECONFLICT, "seal: the room is %s; seal it from open", s.Mode)
	case op == "unseal" && s.Mode != ModeSealed:
		return SealStep{}, Errorf(ECONFLICT, "unseal: the room is not sealed")
	}
	pend := s.Pending
	if pend != nil && (pend.Op != op || c.now.Sub(pend.At) > p.cfg.TwoPersonWindow) {
		pend = nil // another operation's, or too old
	}
	if pend == nil {
		if op == "seal" {
			if rs := p.ready(c, nil); len(rs) > 0 {
				return SealStep{}, p.refuse(c, op, by, rs)
			}
		}
		s.Pending = &Confirmation{Op: op, By: by, At: c.now}
		c.event("seal.confirmation", SeverityInfo, "", by, map[string]any{"op": op, "by": by,
			"window_s": int64(p.cfg.TwoPersonWindow.Seconds())})
		return SealStep{Waiting: by}, nil
	}
	if SamePerson(pend.By, by) {
		return SealStep{}, Errorf(ECONFLICT, "%s: needs two different people; %s has already confirmed", op, pend.By)
	}
	who := []string{pend.By, by}
	s.Pending = nil
	if op == "seal" {
		if rs := p.ready(c, nil); len(rs) > 0 {
			return SealStep{}, p.refuse(c, op, by, rs)
		}
		snap := p.snapshot(c)
		s.Mode, s.Since, s.By = ModeSealed, c.now, who
		s.Seal = &Seal{ID: fmt.Sprintf("%s-seal-%s", p.room, c.now.UTC().Format("20060102T150405")), By: who, At: c.now, Snapshot: snap,
			Carriers: p.carriersInSafes()}
		s.Bypass = nil
		c.sealed = len(c.events)
		data := map[string]any{"by": who, "seal_id": s.Seal.ID, "snapshot": snap}
		if s.Seal.Carriers != nil {
			data["carriers"] = s.Seal.Carriers
		}
		c.event("mode.sealed", SeverityInfo, "", by, data)
		return SealStep{Done: true}, nil
	}
	seal := s.Seal
	// The last seq first: events logged meanwhile come after it, so a gap
	// below it is a gap in the log, never a race.
	last, err := p.log.LastSeq()
	if err != nil {
		return SealStep{}, fmt.Errorf("unseal: read the log's last seq: %w", err)
	}
	during, err := p.log.Query(EventFilter{AfterSeq: seal.Seq})
	if err != nil {
		return SealStep{}, fmt.Errorf("unseal: read the events of the seal: %w", err)
	}
	snap := p.snapshot(c)
	carriers := p.carriersInSafes()
	r := &SealReport{SealID: seal.ID, Room: p.room, SealedBy: seal.By, SealedAt: seal.At.Format(TimeFormat),
		UnsealedBy: who, UnsealedAt: c.now.Format(TimeFormat), SealSnapshot: seal.Snapshot, UnsealSnapshot: snap,
		SealCarriers: seal.Carriers, UnsealCarriers: carriers,
		Events: during, BrokenAlarms: seal.Broken,
		Differences: append(differences(seal.Snapshot, snap), carrierDifferences(seal.Carriers, carriers)...)}
	r.judge(seal.Seq, last)
	s.Mode, s.Since, s.By, s.Seal = ModeOpen, c.now, who, nil
	c.report = r
	c.event("mode.unsealed", SeverityInfo, "", by, map[string]any{"by": who, "seal_id": seal.ID, "verdict": r.Verdict})
	c.event("seal.report", severityOfVerdict(r.Verdict), "", "", map[string]any{"seal_id": seal.ID, "verdict": r.Verdict,
		"events": len(during), "broken_alarms": seal.Broken, "causes": r.Causes})
	return SealStep{Done: true, Report: r}, nil
}

func severityOfVerdict(v string) Severity {
	switch v {
	case SealBroken:
		return SeverityCritical
	case SealUnverified:
		return SeverityWarning
	}
	return SeverityInfo
}

// judge gives the report its verdict, the one rule of the seal: intact only
// when, between the seal (event sealSeq) and now (the log's last event,
// lastSeq), no alarm of any class was raised, no input changed, no event is
// missing from the log and the gateway ran the whole time. Otherwise broken,
// with every cause; unverified when the only cause is the gateway's downtime.
// Never intact by omission.
func (r *SealReport) judge(sealSeq, lastSeq uint64) {
	var causes []string
	at := func(e Event) string { return e.TS.Format(TimeFormat) }
	next := sealSeq + 1
	gap := func(to uint64) {
		if to > next {
			causes = append(causes, fmt.Sprintf("events missing from the log: seq %d–%d", next, to-1))
		}
	}
	for _, e := range r.Events {
		gap(e.Seq)
		next = e.Seq + 1
		var d struct {
			Alarm        string     `json:"alarm"`
			Class        AlarmClass `json:"class"`
			Detail       string     `json:"detail"`
			PreviousStop string     `json:"previous_stop"`
		}
		_ = json.Unmarshal(e.Data, &d) // an event without these fields leaves them empty
		switch {
		case e.Type == "alarm.raised" || e.Type == "alarm.repeated":
			causes = append(causes, fmt.Sprintf("%s: %s alarm %s on %s %s", at(e), d.Class, d.Alarm, e.Device, d.Detail))
		case e.Type == "gateway.started":
			from := d.PreviousStop
			if from == "" {
				from = "unknown"
			}
			r.Downtime = append(r.Downtime, Downtime{From: from, To: at(e)})
		case isInputEvent(e.Type) && e.Device != "":
			causes = append(causes, fmt.Sprintf("%s: %s %s", at(e), e.Device, e.Type))
		}
	}
	gap(lastSeq + 1)
	for _, d := range r.Differences {
		causes = append(causes, "changed between seal and unseal: "+d)
	}
	r.Verdict = SealIntact
	switch {
	case len(causes) > 0:
		r.Verdict = SealBroken
	case len(r.Downtime) > 0:
		r.Verdict = SealUnverified
	}
	for _, d := range r.Downtime {
		causes = append(causes, fmt.Sprintf("gateway down from %s to %s: the room was not watched", d.From, d.To))
	}
	r.Causes = causes
}

// isInputEvent tells whether typ is an input's change (door.opened,
// motion.detected, tamper.active …).
func isInputEvent(typ string) bool {
	for _, s := range inputSpecs {
		if typ == s.onActive || typ == s.onIdle {
			return true
		}
	}
	return false
}

// carriersInSafes is the carriers part of a seal snapshot; nil in a room
// without carrier tracking.
func (p *Panel) carriersInSafes() map[string][]string {
	if p.CarriersInSafes == nil {
		return nil
	}
	m := p.CarriersInSafes()
	if m == nil {
		m = map[string][]string{}
	}
	return m
}

// carrierDifferences names each carrier in a safe at sealing and not there
// at unsealing, or the other way round.
func carrierDifferences(sealed, unsealed map[string][]string) []string {
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
	var out []string
	for id, safe := range a {
		if b[id] != safe {
			now := "not seen in a safe"
			if b[id] != "" {
				now = "in " + b[id]
			}
			out = append(out, fmt.Sprintf("carrier %s: in %s at sealing, %s at unsealing", id, safe, now))
		}
	}
	for id, safe := range b {
		if a[id] == "" {
			out = append(out, fmt.Sprintf("carrier %s: not in a safe at sealing, in %s at unsealing", id, safe))
		}
	}
	sort.Strings(out)
	return out
}

// snapshot is the state of every door, window and safe now.
func (p *Panel) snapshot(c *change) []DeviceState {
	var out []DeviceState
	for _, d := range c.devices() {
		switch InputKind(d.Kind) {
		case KindDoor, KindWindow, KindSafeBolt, KindSafeDoor, KindSafe:
			out = append(out, d)
		}
	}
	return out
}

func differences(a, b []DeviceState) []string {
	at := map[string]string{}
	for _, d := range a {
		at[d.Device] = d.State
	}
	var out []string
	for _, d := range b {
		if was, ok := at[d.Device]; ok && was != d.State {
			out = append(out, fmt.Sprintf("%s: %s at sealing, %s at unsealing", d.Device, was, d.State))
		}
	}
	return out
}
