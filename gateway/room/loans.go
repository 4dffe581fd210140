package room

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Loans (借阅): a carrier signed out to a person of the register, its
// second confirmation for top-secret ones, its approval, extension and
// return, and the overdue alarm. The vault (vault.go) tracks where each
// carrier is; what follows is who has it and until when.

// SignOut lends a carrier: to a borrower whose level covers its class (two
// people for top secret), with a purpose and a due time; leaving the room
// needs an approver other than the borrower. A refusal changes nothing.
func (v *Vault) SignOut(r gateway.SignOutRequest) (*gateway.SignOut, error) {
	now := v.clock.Now()
	if strings.TrimSpace(r.By) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "by: who signs the carrier out is missing")
	}
	if strings.TrimSpace(r.Purpose) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "purpose: missing")
	}
	v.mu.Lock()
	c := v.carriers[r.Carrier]
	if c == nil {
		v.mu.Unlock()
		return nil, gateway.Errorf(gateway.ENOTFOUND, "carrier: no carrier %q in the register", r.Carrier)
	}
	if l := v.loans[c.ID]; l != nil {
		v.mu.Unlock()
		return nil, gateway.Errorf(gateway.ECONFLICT, "carrier: %s is already signed out (%s, to %s, due %s)", c.ID, l.ID, l.Borrower, l.Due.Format("2006-01-02 15:04"))
	}
	if err := v.free(c); err != nil {
		v.mu.Unlock()
		return nil, err
	}
	v.mu.Unlock()

	borrower, err := v.mayTake("borrower", r.Borrower, c, now)
	if err != nil {
		return nil, err
	}
	if c.Class == gateway.TopSecret {
		if r.Second == "" {
			return nil, gateway.Errorf(gateway.EINVALID, "second: a top-secret (绝密) carrier is signed out by two people")
		}
		if gateway.SamePerson(r.Second, r.Borrower) {
			return nil, gateway.Errorf(gateway.EINVALID, "second: must be another person than the borrower")
		}
		if _, err := v.mayTake("second", r.Second, c, now); err != nil {
			return nil, err
		}
	} else if r.Second != "" {
		if _, err := v.mayTake("second", r.Second, c, now); err != nil {
			return nil, err
		}
	}
	due := r.Due
	if due.IsZero() {
		due = v.work.EndOfDay(now)
	}
	if !due.After(now) {
		return nil, gateway.Errorf(gateway.EINVALID, "due: %s is not in the future", due.Format("2006-01-02 15:04"))
	}
	needApprover := r.MayLeave || due.Sub(now) > v.cfg.MaxLoan
	if r.Approver != "" || needApprover {
		if r.Approver == "" {
			return nil, gateway.Errorf(gateway.EINVALID, "approver: needed to let the carrier leave the room or to lend it for more than %s", v.cfg.MaxLoan)
		}
		if err := v.mayApprove(r.Approver, borrower.ID, r.Second); err != nil {
			return nil, err
		}
	}

	l := &gateway.SignOut{ID: "so-" + gateway.NewEventID(now), Carrier: c.ID, Borrower: borrower.ID, Second: r.Second, Purpose: r.Purpose,
		MayLeave: r.MayLeave, Approver: r.Approver, Due: due, At: now, By: r.By, Via: r.Via}
	if c.Class == gateway.TopSecret {
		// Two people through two channels: this is asked for; the second
		// person's own confirmation makes it a loan.
		err := v.step(func(*change) time.Time { return now }, func(b *vbatch) error {
			prev := v.asked[c.ID]
			v.asked[c.ID] = l
			b.undo = append(b.undo, func() {
				if prev == nil {
					delete(v.asked, c.ID)
				} else {
					v.asked[c.ID] = prev
				}
			})
			b.event("carrier.signout_asked", gateway.SeverityInfo, c.ID, borrower.ID, map[string]any{"carrier": c.ID, "title": c.Title,
				"borrower": borrower.ID, "borrower_name": borrower.Name, "second": r.Second, "purpose": r.Purpose, "by": r.By,
				"window_s": int64(gateway.SecondWindow.Seconds())})
			return nil
		})
		if err != nil {
			return nil, err
		}
		waiting := *l
		waiting.ID, waiting.Waiting = "", r.Second
		return &waiting, nil
	}
	return v.lend(c, borrower, l)
}

// lend makes l a loan of c to borrower.
func (v *Vault) lend(c *gateway.Carrier, borrower *gateway.Person, l *gateway.SignOut) (*gateway.SignOut, error) {
	err := v.step(func(*change) time.Time { return l.At }, func(b *vbatch) error { return v.lendIn(b, c, borrower, l) })
	if err != nil {
		return nil, err
	}
	return l, nil
}

// lendIn makes l a loan of c to borrower in step b: a loan (signed out)
// or a copy handed to a reader (circulating).
func (v *Vault) lendIn(b *vbatch, c *gateway.Carrier, borrower *gateway.Person, l *gateway.SignOut) error {
	r, due := l, l.Due
	if v.carriers[c.ID] == nil || v.loans[c.ID] != nil || v.state[c.ID].Status.Frozen() { // changed while we looked people up
		return gateway.Errorf(gateway.ECONFLICT, "carrier: %s changed meanwhile; try again", c.ID)
	}
	st := b.touch(c.ID)
	v.loans[c.ID] = l
	asked := v.asked[c.ID]
	delete(v.asked, c.ID)
	status, typ := gateway.CarrierSignedOut, "carrier.signed_out"
	if l.Circulates() {
		status, typ = gateway.CarrierCirculating, "carrier.circulated"
	}
	st.Status, st.Misplaced, st.SignOut = status, false, l.ID
	b.c.signOuts = append(b.c.signOuts, *l)
	data := map[string]any{"carrier": c.ID, "title": c.Title, "class": c.Class,
		"sign_out": l.ID, "borrower": borrower.ID, "borrower_name": borrower.Name, "second": r.Second, "purpose": r.Purpose,
		"may_leave": r.MayLeave, "approver": r.Approver, "approved": l.Approved(), "due": due.Format(gateway.TimeFormat), "by": r.By}
	if l.Circulates() {
		data["kind"], data["received_via"] = l.Kind, channelKind(l.ReceivedVia)
	}
	b.event(typ, gateway.SeverityInfo, c.ID, borrower.ID, data)
	v.armOverdue(l)
	b.undo = append(b.undo, func() {
		delete(v.loans, c.ID)
		if asked != nil {
			v.asked[c.ID] = asked
		}
		v.disarmOverdue(c.ID)
	})
	return nil
}

// confirmSecond is the second person's own confirmation of a top-secret
// sign-out asked for within gateway.SecondWindow, through another channel than the
// asking: it makes the loan.
func (v *Vault) confirmSecond(c *gateway.Carrier, asked *gateway.SignOut, by, via string) (*gateway.SignOut, error) {
	now := v.clock.Now()
	switch {
	case now.Sub(asked.At) > gateway.SecondWindow:
		return nil, gateway.Errorf(gateway.ECONFLICT, "carrier: the sign-out of %s asked at %s waited more than %s for %s: ask again", c.ID, asked.At.Format("15:04:05"), gateway.SecondWindow, asked.Second)
	case asked.Via != "" && asked.Via == via:
		return nil, gateway.Errorf(gateway.ESAMEPERSON, "carrier: %s confirms through the same channel the sign-out was asked through (%s): the second person signs from their own session or key", by, via)
	}
	borrower, err := v.mayTake("borrower", asked.Borrower, c, now)
	if err != nil {
		return nil, err
	}
	if _, err := v.mayTake("second", asked.Second, c, now); err != nil {
		return nil, err
	}
	l := *asked
	l.At, l.SecondVia = now, via
	return v.lend(c, borrower, &l)
}

// disarmOverdue ends a loan's overdue timer; with v.mu held.
func (v *Vault) disarmOverdue(carrier string) { v.disarm(carrier) }

// disarm ends the timer key of v.timers; with v.mu held.
func (v *Vault) disarm(key string) {
	if stop := v.timers[key]; stop != nil {
		stop()
		delete(v.timers, key)
	}
}

// mayTake checks that person id may take carrier c now.
func (v *Vault) mayTake(field, id string, c *gateway.Carrier, now time.Time) (*gateway.Person, error) {
	if strings.TrimSpace(id) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: missing", field)
	}
	p, err := v.people.Person(id)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: no person %q in the register", field, id)
	}
	today := now.In(v.work.Location).Format(time.DateOnly)
	switch {
	case p.InvalidOn(today) != "":
		return nil, gateway.Errorf(gateway.EINVALID, "%s: %s (%s) is not valid today", field, p.Name, p.ID)
	case !p.AllowedIn(v.room):
		return nil, gateway.Errorf(gateway.EINVALID, "%s: %s (%s) is not allowed in this room", field, p.Name, p.ID)
	case !p.Level.Covers(c.Class):
		return nil, gateway.Errorf(gateway.EINVALID, "%s: %s (%s), level %s, may not take a %s (%s) carrier", field, p.Name, p.ID, p.Level, c.Class, c.Class.Chinese())
	}
	return p, nil
}

// mayApprove checks an approver: a security officer or a leader, neither
// the borrower nor the second.
func (v *Vault) mayApprove(id, borrower, second string) error {
	if gateway.SamePerson(id, borrower) || second != "" && gateway.SamePerson(id, second) {
		return gateway.Errorf(gateway.EINVALID, "approver: the borrower cannot approve their own loan")
	}
	p, err := v.people.Person(id)
	if err != nil {
		return err
	}
	if p == nil {
		return gateway.Errorf(gateway.ENOTFOUND, "approver: no person %q in the register", id)
	}
	if p.Role != gateway.RoleSecurityOfficer && p.Role != gateway.RoleLeader {
		return gateway.Errorf(gateway.EINVALID, "approver: %s (%s) is a %s; a security officer or a leader approves", p.Name, p.ID, p.Role)
	}
	return nil
}

// armOverdue starts the overdue timer of an open loan; with v.mu held.
func (v *Vault) armOverdue(l *gateway.SignOut) {
	if stop := v.timers[l.Carrier]; stop != nil {
		stop()
	}
	carrier, id := l.Carrier, l.ID
	v.timers[carrier] = v.clock.AfterFunc(max(l.Due.Sub(v.clock.Now()), 0), func() { v.overdue(carrier, id) })
}

func (v *Vault) overdue(carrier, loanID string) {
	err := v.step(at, func(b *vbatch) error {
		l := v.loans[carrier]
		if l == nil || l.ID != loanID || l.Overdue {
			return nil
		}
		l.Overdue = true
		b.undo = append(b.undo, func() { // not logged: not overdue yet; the timer is armed again
			if cur := v.loans[carrier]; cur != nil && cur.ID == loanID {
				cur.Overdue = false
				v.timers[carrier] = v.clock.AfterFunc(faultRetry, func() { v.overdue(carrier, loanID) })
			}
		})
		b.c.signOuts = append(b.c.signOuts, *l)
		title := carrier
		if c := v.carriers[carrier]; c != nil {
			title = c.Title
		}
		b.event("carrier.overdue", gateway.SeverityWarning, carrier, l.Borrower, map[string]any{"carrier": carrier, "title": title,
			"sign_out": l.ID, "borrower": l.Borrower, "due": l.Due.Format(gateway.TimeFormat)})
		b.raise(gateway.AlarmCarrierOverdue, carrier, fmt.Sprintf("%s《%s》 signed out to %s was due back at %s", carrier, title, l.Borrower, l.Due.Format("2006-01-02 15:04")))
		return nil
	})
	v.fault("log a carrier overdue", err)
}

// Approve is the approver's own confirmation of a sign-out that names
// them (a carrier that may leave the room, or a loan past MaxLoan), through
// another channel than the sign-out's: until then the carrier may not pass
// the door. For a top-secret sign-out asked for and not yet a loan, it is
// the second person's confirmation, which makes it one.
func (v *Vault) Approve(carrier, by, via string) (*gateway.SignOut, error) {
	v.mu.Lock()
	asked, lent, c, ext := v.asked[carrier], v.loans[carrier], v.carriers[carrier], v.extends[carrier]
	var stepID string
	if step := v.steps[v.pendingOn[carrier]]; step != nil && slices.ContainsFunc(step.Waiting(), func(p string) bool { return gateway.SamePerson(p, by) }) {
		stepID = step.ID
	}
	v.mu.Unlock()
	if stepID != "" {
		// A step of the carrier's life naming them (a destruction's or a
		// copy's leader): carrier/approve is their confirmation.
		p, err := v.Confirm(stepID, "", by, via)
		if err != nil {
			return nil, err
		}
		return &gateway.SignOut{Carrier: carrier, Approver: by, Step: p}, nil
	}
	if asked != nil && lent == nil && c != nil && gateway.SamePerson(asked.Second, by) {
		return v.confirmSecond(c, asked, by, via)
	}
	if ext != nil && lent != nil && lent.ID == ext.ID && gateway.SamePerson(ext.Approver, by) {
		now := v.clock.Now()
		switch {
		case now.Sub(ext.At) > gateway.SecondWindow:
			return nil, gateway.Errorf(gateway.ECONFLICT, "carrier: the extension of %s asked at %s waited more than %s for %s: ask again", carrier, ext.At.Format("15:04:05"), gateway.SecondWindow, ext.Approver)
		case ext.Via != "" && ext.Via == via:
			return nil, gateway.Errorf(gateway.ESAMEPERSON, "carrier: %s approves through the same channel the extension was asked through (%s): the approver signs from their own session or key", by, via)
		}
		return v.extend(carrier, ext.ID, ext.Due, ext.Approver, ext.By, now)
	}
	var approved gateway.SignOut
	err := v.step(at, func(b *vbatch) error {
		l := v.loans[carrier]
		switch {
		case v.carriers[carrier] == nil:
			return gateway.Errorf(gateway.ENOTFOUND, "carrier: no carrier %q in the register", carrier)
		case l == nil:
			return gateway.Errorf(gateway.ECONFLICT, "carrier: %s is not signed out", carrier)
		case l.Approver == "":
			return gateway.Errorf(gateway.ECONFLICT, "carrier: the sign-out of %s names no approver", carrier)
		case !gateway.SamePerson(l.Approver, by):
			return gateway.Errorf(gateway.ENOTALLOWED, "carrier: the sign-out of %s names %s as approver, not %s", carrier, l.Approver, by)
		case l.Approved():
			return gateway.Errorf(gateway.ECONFLICT, "carrier: the sign-out of %s is approved already", carrier)
		case l.Via != "" && l.Via == via:
			return gateway.Errorf(gateway.ESAMEPERSON, "carrier: %s approves through the same channel the sign-out came through (%s): the approver signs from their own session or key", by, via)
		}
		prev := *l
		l.ApprovedAt, l.ApprovedVia = b.now, via
		b.undo = append(b.undo, func() { *l = prev })
		b.c.signOuts = append(b.c.signOuts, *l)
		b.event("carrier.approved", gateway.SeverityInfo, carrier, l.Borrower, map[string]any{"carrier": carrier,
			"sign_out": l.ID, "approver": by, "may_leave": l.MayLeave})
		approved = *l
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &approved, nil
}

// Return closes a carrier's open sign-out; an overdue alarm is restored in
// the same change. A copy handed to a reader (circulated, read in the
// room) is taken back by another than the reader, and the reader confirms
// it through their own channel (carrier/confirm or their badge): until
// then it is theirs; the reply is waiting for them.
func (v *Vault) Return(carrier, by, via string) (*gateway.SignOut, error) {
	if strings.TrimSpace(by) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "by: who takes the carrier back is missing")
	}
	var closed gateway.SignOut
	err := v.step(at, func(b *vbatch) error {
		c := v.carriers[carrier]
		if c == nil {
			return gateway.Errorf(gateway.ENOTFOUND, "carrier: no carrier %q in the register", carrier)
		}
		l := v.loans[carrier]
		if l == nil {
			return gateway.Errorf(gateway.ECONFLICT, "carrier: %s is not signed out", carrier)
		}
		if l.Circulates() {
			if gateway.SamePerson(by, l.Borrower) {
				return gateway.Errorf(gateway.ESAMEPERSON, "carrier/return: %s is taken back by the clerk, not by its reader %s, who confirms it", carrier, l.Borrower)
			}
			p := &lifeStep{Pending: gateway.Pending{Op: "carrier/return", Carriers: []string{carrier}, By: by, Via: via,
				Parties: []gateway.Party{{Person: l.Borrower, As: "reader"}}}}
			loanID := l.ID
			p.done = func(b *vbatch, p *gateway.Pending) error {
				l := v.loans[carrier]
				if l == nil || l.ID != loanID {
					return gateway.Errorf(gateway.ECONFLICT, "carrier: %s changed meanwhile", carrier)
				}
				p.Ref = l.ID
				v.closeIn(b, c, l, p.By, p.Parties[0].Via)
				return nil
			}
			if err := v.ask(b, p); err != nil {
				return err
			}
			closed = *l
			closed.Waiting = l.Borrower
			return nil
		}
		closed = v.closeIn(b, c, l, by, "")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &closed, nil
}

// closeIn closes the sign-out l of c in step b, taken back by by (and
// confirmed by its reader through confirmed, for a copy circulated).
func (v *Vault) closeIn(b *vbatch, c *gateway.Carrier, l *gateway.SignOut, by, confirmed string) gateway.SignOut {
	carrier, now := c.ID, b.now
	closed := *l
	closed.ReturnedAt, closed.ReturnedBy = now, by
	b.c.signOuts = append(b.c.signOuts, closed)
	st := b.touch(carrier)
	delete(v.loans, carrier)
	b.undo = append(b.undo, func() { v.loans[carrier] = l })
	st.SignOut = ""
	data := map[string]any{"carrier": carrier, "title": c.Title, "sign_out": l.ID, "borrower": l.Borrower, "by": by, "late": now.After(l.Due)}
	if l.Circulates() {
		data["kind"], data["confirmed_via"] = l.Kind, channelKind(confirmed)
	}
	b.event("carrier.returned", gateway.SeverityInfo, carrier, l.Borrower, data)
	// Back home if it is seen there now; otherwise away until it is.
	s := v.seen[carrier]
	if s.loc.ID == c.Home && !s.assumed && now.Sub(s.at) < v.cfg.Present {
		st.Status = gateway.CarrierHome
	} else {
		st.Status = gateway.CarrierAway
	}
	v.disarmOverdue(carrier)
	if l.Overdue {
		b.restore(gateway.AlarmCarrierOverdue, carrier)
	}
	return closed
}

// Loans returns the open sign-outs, by due time.
func (v *Vault) Loans() []gateway.SignOut {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]gateway.SignOut, 0, len(v.loans))
	for _, l := range v.loans {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b gateway.SignOut) int { return a.Due.Compare(b.Due) })
	return out
}

// Extend moves an open sign-out's due time, approved by a security officer
// or a leader other than the borrower. An overdue alarm is restored.
func (v *Vault) Extend(carrier string, due time.Time, approver, by, via string) (*gateway.SignOut, error) {
	if strings.TrimSpace(by) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "by: who extends the loan is missing")
	}
	now := v.clock.Now()
	if !due.After(now) {
		return nil, gateway.Errorf(gateway.EINVALID, "due: %s is not in the future", due.Format("2006-01-02 15:04"))
	}
	if due.Sub(now) > maxExtension {
		return nil, gateway.Errorf(gateway.EINVALID, "due: %s is more than %d days away", due.Format("2006-01-02 15:04"), int(maxExtension.Hours()/24))
	}
	v.mu.Lock()
	l := v.loans[carrier]
	if v.carriers[carrier] == nil {
		v.mu.Unlock()
		return nil, gateway.Errorf(gateway.ENOTFOUND, "carrier: no carrier %q in the register", carrier)
	}
	if l == nil {
		v.mu.Unlock()
		return nil, gateway.Errorf(gateway.ECONFLICT, "carrier: %s is not signed out", carrier)
	}
	borrower, second, loanID := l.Borrower, l.Second, l.ID
	v.mu.Unlock()
	if strings.TrimSpace(approver) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "approver: an extension is approved by a security officer or a leader")
	}
	if err := v.mayApprove(approver, borrower, second); err != nil {
		return nil, err
	}
	if !gateway.SamePerson(by, approver) {
		// Another asks for the approver: the extension waits for the
		// approver's own signature (carrier/approve, another channel).
		asked := &gateway.SignOut{ID: loanID, Carrier: carrier, Due: due, Approver: approver, By: by, Via: via, At: now}
		err := v.step(func(*change) time.Time { return now }, func(b *vbatch) error {
			prev := v.extends[carrier]
			v.extends[carrier] = asked
			b.undo = append(b.undo, func() {
				if prev == nil {
					delete(v.extends, carrier)
				} else {
					v.extends[carrier] = prev
				}
			})
			b.event("carrier.extend_asked", gateway.SeverityInfo, carrier, borrower, map[string]any{"carrier": carrier, "sign_out": loanID,
				"due": due.Format(gateway.TimeFormat), "approver": approver, "by": by, "window_s": int64(gateway.SecondWindow.Seconds())})
			return nil
		})
		if err != nil {
			return nil, err
		}
		waiting := *asked
		waiting.Waiting = approver
		return &waiting, nil
	}
	return v.extend(carrier, loanID, due, approver, by, now)
}

// extend moves the loan loanID of carrier to due, approved by approver.
func (v *Vault) extend(carrier, loanID string, due time.Time, approver, by string, now time.Time) (*gateway.SignOut, error) {
	var out gateway.SignOut
	err := v.step(func(*change) time.Time { return now }, func(b *vbatch) error {
		l := v.loans[carrier]
		if l == nil || l.ID != loanID {
			return gateway.Errorf(gateway.ECONFLICT, "carrier: %s changed meanwhile; try again", carrier)
		}
		prev := *l
		l.Due, l.Overdue = due, false
		l.Approver = approver
		b.undo = append(b.undo, func() {
			*l = prev
			v.armOverdue(l)
		})
		b.c.signOuts = append(b.c.signOuts, *l)
		b.touch(carrier) // the retained state shows the due time
		delete(v.extends, carrier)
		b.event("carrier.extended", gateway.SeverityInfo, carrier, l.Borrower, map[string]any{"carrier": carrier, "sign_out": l.ID,
			"borrower": l.Borrower, "previous_due": prev.Due.Format(gateway.TimeFormat), "due": due.Format(gateway.TimeFormat), "approver": approver, "by": by})
		v.armOverdue(l)
		if prev.Overdue {
			b.restore(gateway.AlarmCarrierOverdue, carrier)
		}
		out = *l
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ReportLoss reports a carrier lost (carrier/loss, 丢失报告): a priority-1
// carrier-lost alarm for the security officers' call-down at once, the
// carrier marked lost, its status frozen from then (its sightings are
// still logged); a carrier already reported lost is refused.
func (v *Vault) ReportLoss(carrier, by, detail string) error {
	if strings.TrimSpace(by) == "" || strings.TrimSpace(detail) == "" {
		return gateway.Errorf(gateway.EINVALID, "carrier/loss: by and detail (what happened) are needed")
	}
	return v.step(at, func(b *vbatch) error {
		c := v.carriers[carrier]
		if c == nil {
			return gateway.Errorf(gateway.ENOTFOUND, "carrier/loss: no carrier %q in the register", carrier)
		}
		st := v.state[carrier]
		if st.Status == gateway.CarrierLost {
			return gateway.Errorf(gateway.ECONFLICT, "carrier/loss: %s is reported lost already", carrier)
		}
		if st.Status.Ended() {
			return gateway.Errorf(gateway.ECONFLICT, "carrier/loss: %s is %s: its life in the room has ended", carrier, st.Status)
		}
		v.lossIn(b, c, st, by, detail)
		return nil
	})
}

// lossIn marks c lost in step b and raises the carrier-lost alarm.
func (v *Vault) lossIn(b *vbatch, c *gateway.Carrier, st *gateway.CarrierState, by, detail string) {
	s := v.seen[c.ID]
	data := map[string]any{"by": by, "detail": detail, "was": st.Status}
	if !s.at.IsZero() {
		data["last_seen"], data["location"] = s.at.Format(gateway.TimeFormat), s.loc.ID
	}
	if l := v.loans[c.ID]; l != nil {
		data["sign_out"], data["borrower"] = l.ID, l.Borrower
	}
	b.setStatus(c, st, gateway.CarrierLost, false, data)
	// A report, not a state that ends: raised restored, so the officers'
	// acknowledgement closes it (the carrier stays lost).
	b.v.panel.raiseAt(b.c, gateway.AlarmCarrierLost, 1, c.ID, fmt.Sprintf("%s %s《%s》 reported lost by %s: %s", c.Class.Chinese(), c.ID, c.Title, by, detail), false)
}

// armLoss starts the grace a carrier missing since since has to be found
// before the room reports it lost (issue 30, step 5); with v.mu held.
func (v *Vault) armLoss(id string, since time.Time) {
	grace := v.cfg.LossGrace
	if grace <= 0 {
		return
	}
	if stop := v.timers["loss/"+id]; stop != nil {
		stop()
	}
	v.timers["loss/"+id] = v.clock.AfterFunc(max(since.Add(grace).Sub(v.clock.Now()), 0), func() { v.lostAfterGrace(id, since) })
}

// lostAfterGrace: a carrier still missing since the inventory of since,
// its grace over, is reported lost by the room.
func (v *Vault) lostAfterGrace(id string, since time.Time) {
	err := v.step(at, func(b *vbatch) error {
		c, st := v.carriers[id], v.state[id]
		if c == nil || st == nil || st.Status != gateway.CarrierMissing || !st.MissingSince.Equal(since) {
			return nil // found, or missing since another inventory
		}
		delete(v.timers, "loss/"+id)
		b.undo = append(b.undo, func() { v.timers["loss/"+id] = v.clock.AfterFunc(faultRetry, func() { v.lostAfterGrace(id, since) }) })
		v.lossIn(b, c, st, "gateway", fmt.Sprintf("missing since the inventory at %s and not found within %s", since.In(b.now.Location()).Format("2006-01-02 15:04"), v.cfg.LossGrace))
		return nil
	})
	v.fault("report a missing carrier lost", err)
}
