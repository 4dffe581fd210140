package room

import (
	"fmt"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Maintenance visits (维修, issue 31): asked for beforehand, a leader's
// approval through their own channel registers the technicians as
// visitors escorted by the custodian who supervises (entry control's
// escort rules do the rest: a technician's card opens only behind the
// custodian's, the custodian leaving a technician inside is the
// visitor-unescorted alarm at once); the custodian ends it with the
// storage media's check. A visit not approved has no cards: refused at
// the door.

// maintenance is a visit asked for or approved; with Access.mu held.
type maintenance struct {
	id     string
	req    gateway.MaintenanceRequest
	at     time.Time
	visits []string // once approved: the technicians' visits
}

// RequestMaintenance asks for a maintenance visit (maintenance/request):
// checked whole now, approved by its leader with ApproveMaintenance. It
// returns the visit's id.
func (r *Room) RequestMaintenance(q gateway.MaintenanceRequest) (string, error) {
	const op = "maintenance/request"
	a := r.Access
	switch {
	case strings.TrimSpace(q.Company) == "" || strings.TrimSpace(q.Equipment) == "":
		return "", gateway.Errorf(gateway.EINVALID, "%s: company and equipment are needed", op)
	case len(q.Technicians) == 0 || len(q.Technicians) > gateway.MaxTechnicians:
		return "", gateway.Errorf(gateway.EINVALID, "%s: technicians: 1 to %d; %d given", op, gateway.MaxTechnicians, len(q.Technicians))
	case strings.TrimSpace(q.Approver) == "":
		return "", gateway.Errorf(gateway.EINVALID, "%s: approver: a leader approves it beforehand", op)
	case gateway.SamePerson(q.Approver, q.By):
		return "", gateway.Errorf(gateway.ESAMEPERSON, "%s: approver: %s asks for it and cannot approve it too", op, q.By)
	case !q.Until.After(a.clock.Now()):
		return "", gateway.Errorf(gateway.EINVALID, "%s: until: %s is past", op, q.Until.Format("2006-01-02 15:04"))
	}
	if p, err := a.reg.Person(q.Approver); err != nil {
		return "", err
	} else if p == nil {
		return "", gateway.Errorf(gateway.EUNKNOWNPERSON, "%s: approver: %q is not in the personnel register", op, q.Approver)
	} else if p.Role != gateway.RoleLeader {
		return "", gateway.Errorf(gateway.ENOTALLOWED, "%s: approver: %s (%s) is a %s; a leader approves it", op, p.Name, p.ID, p.Role)
	}
	cards := map[string]int{}
	for i := range q.Technicians {
		vr, err := a.technicianVisit(q, i)
		if err != nil {
			return "", gateway.Errorf(gateway.ErrorCode(err), "%s: technicians[%d]: %v", op, i, err)
		}
		if j, dup := cards[vr.Card]; dup {
			return "", gateway.Errorf(gateway.ECONFLICT, "%s: technicians[%d]: card %s is technicians[%d]'s too", op, i, gateway.MaskCard(vr.Card), j)
		}
		cards[vr.Card] = i
		q.Technicians[i].IDNumber, q.Technicians[i].Card = vr.IDNumber, vr.Card
	}
	var id string
	err := a.panel.do(func(c *change) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		id = "mt-" + gateway.NewEventID(c.now)
		if a.maint == nil {
			a.maint = map[string]*maintenance{}
		}
		a.maint[id] = &maintenance{id: id, req: q, at: c.now}
		c.failed = append(c.failed, func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			delete(a.maint, id)
		})
		c.event("maintenance.requested", gateway.SeverityInfo, "", q.By, map[string]any{"maintenance": id, "company": q.Company,
			"equipment": q.Equipment, "technicians": technicianNames(q.Technicians), "from": q.From.Format(gateway.TimeFormat),
			"until": q.Until.Format(gateway.TimeFormat), "custodian": q.Custodian, "approver": q.Approver, "by": q.By})
		return nil
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// technicianVisit is technician i of q as the visit it becomes, checked as
// a visitor's registration is (the custodian its host and escort, the card
// nobody's).
func (a *Access) technicianVisit(q gateway.MaintenanceRequest, i int) (gateway.VisitRequest, error) {
	t := q.Technicians[i]
	vr := gateway.VisitRequest{Name: t.Name, IDType: t.IDType, IDNumber: t.IDNumber, Organization: q.Company,
		Purpose: "维修：" + q.Equipment, Host: q.Custodian, Escort: q.Custodian, Card: t.Card, From: q.From, Until: q.Until, By: q.By}
	if err := vr.Check(); err != nil {
		return vr, err
	}
	if err := a.mayVisit(vr); err != nil {
		return vr, err
	}
	return vr, nil
}

// technicianNames says the technicians for the log: names and masked IDs.
func technicianNames(ts []gateway.Technician) []map[string]string {
	out := make([]map[string]string, len(ts))
	for i, t := range ts {
		out[i] = map[string]string{"name": t.Name, "id_masked": gateway.MaskID(t.IDNumber), "card": gateway.MaskCard(t.Card)}
	}
	return out
}

// ApproveMaintenance is the leader's own approval of a maintenance visit
// (maintenance/approve), through another channel than the request's: the
// technicians become visitors escorted by the custodian, in one change
// with maintenance.approved.
func (r *Room) ApproveMaintenance(id, by, via string) ([]string, error) {
	const op = "maintenance/approve"
	a := r.Access
	a.mu.Lock()
	m := a.maint[id]
	a.mu.Unlock()
	switch {
	case m == nil:
		return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: no maintenance visit %q is asked for", op, id)
	case m.visits != nil:
		return nil, gateway.Errorf(gateway.ECONFLICT, "%s: %s is approved already", op, id)
	case !gateway.SamePerson(m.req.Approver, by):
		return nil, gateway.Errorf(gateway.ENOTALLOWED, "%s: %s names %s as approver, not %s", op, id, m.req.Approver, by)
	case m.req.Via != "" && m.req.Via == via:
		return nil, gateway.Errorf(gateway.ESAMEPERSON, "%s: %s approves through the channel the request came through (%s): the leader signs from their own session or key", op, by, via)
	case !m.req.Until.After(a.clock.Now()):
		return nil, gateway.Errorf(gateway.ECONFLICT, "%s: %s's window ended at %s: ask again", op, id, m.req.Until.Format("2006-01-02 15:04"))
	}
	var reqs []gateway.VisitRequest
	for i := range m.req.Technicians {
		vr, err := a.technicianVisit(m.req, i) // again: a card may have gone to someone meanwhile
		if err != nil {
			return nil, gateway.Errorf(gateway.ErrorCode(err), "%s: technicians[%d]: %v", op, i, err)
		}
		reqs = append(reqs, vr)
	}
	var ids []string
	err := a.panel.do(func(c *change) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.maint[id] != m || m.visits != nil {
			return gateway.Errorf(gateway.ECONFLICT, "%s: %s changed meanwhile", op, id)
		}
		b := a.begin(c, c.now)
		for _, vr := range reqs {
			v := a.newVisit(vr, c.now)
			a.logVisit(b, v, vr.By)
			c.visits = append(c.visits, *v)
			ids = append(ids, v.ID)
		}
		m.visits = ids
		c.failed = append(c.failed, func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			m.visits = nil
		})
		b.event("maintenance.approved", gateway.SeverityInfo, "", by, map[string]any{"maintenance": id, "approver": by, "visits": ids,
			"custodian": m.req.Custodian, "equipment": m.req.Equipment})
		a.commit(b, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// CloseMaintenance ends a maintenance visit (maintenance/close): the
// supervising custodian records the storage media's check and confirms
// it; the technicians' visits are checked out, in one change with
// maintenance.closed. Media carried away raises nothing by itself: the
// record says so for the inspector.
func (r *Room) CloseMaintenance(id, media, note, by string) error {
	const op = "maintenance/close"
	a := r.Access
	if _, ok := gateway.MediaChecks[media]; !ok {
		return gateway.Errorf(gateway.EINVALID, "%s: media: %q is not none, kept, destruction or removed", op, media)
	}
	a.mu.Lock()
	m := a.maint[id]
	a.mu.Unlock()
	switch {
	case m == nil || m.visits == nil:
		return gateway.Errorf(gateway.ENOTFOUND, "%s: no maintenance visit %q is approved", op, id)
	case !gateway.SamePerson(m.req.Custodian, by):
		return gateway.Errorf(gateway.ENOTALLOWED, "%s: %s is supervised by %s, who closes it, not %s", op, id, m.req.Custodian, by)
	}
	var open []*gateway.Visit
	for _, vid := range m.visits {
		v, err := a.reg.Visit(vid)
		if err != nil {
			return err
		}
		if v != nil && v.CheckedOutAt.IsZero() {
			open = append(open, v)
		}
	}
	return a.panel.do(func(c *change) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.maint[id] != m {
			return gateway.Errorf(gateway.ECONFLICT, "%s: %s changed meanwhile", op, id)
		}
		b := a.begin(c, c.now)
		inside := false
		for _, v := range open {
			inside = a.checkOutIn(c, b, v, by) || inside
		}
		delete(a.maint, id)
		c.failed = append(c.failed, func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.maint[id] = m
		})
		sev := gateway.SeverityInfo
		if media == "removed" {
			sev = gateway.SeverityWarning
		}
		b.event("maintenance.closed", sev, "", by, map[string]any{"maintenance": id, "media": media, "note": note, "custodian": by,
			"equipment": m.req.Equipment, "company": m.req.Company, "checked_out": len(open)})
		a.commit(b, inside)
		return nil
	})
}

// String names a maintenance visit in a message.
func (m *maintenance) String() string {
	return fmt.Sprintf("%s (%s, %s)", m.id, m.req.Company, m.req.Equipment)
}
