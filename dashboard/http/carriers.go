package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	gwcsv "github.com/roomguard/roomguard/gateway/csv"
)

// carrierView is one carrier as the console shows it: where its room last
// saw it, what the master register says it is, and its open sign-out.
type carrierView struct {
	Room string
	gateway.CarrierState
	Title, Class, Kind, Home, Custodian string
	Loan                                *loanView
	// A copy of a document received (收文登记): its document, copy n of
	// N, 文号 and secrecy period (保密期限: a date or 长期).
	Document, DocNumber, Period string
	Copy, Copies                int
}

// PeriodOver tells whether a copy's secrecy period has passed by today:
// it is listed for review (解密 or 延期); nothing changes on its own.
func (v carrierView) PeriodOver(today string) bool {
	return v.Period != "" && v.Period != gateway.PeriodLong && v.Period < today
}

// loanView is an open sign-out, as the events tell it.
type loanView struct {
	Room, ID, Carrier, Title, Borrower, BorrowerName, Second, Purpose, Approver, By string
	MayLeave                                                                        bool
	At, Due                                                                         time.Time
	Overdue                                                                         bool
	// Pending: the approver it names has not yet confirmed it with their
	// own signature (carrier/approve); until then it may not leave.
	Pending bool
}

// loanEvent is the data of the carrier.* events a loan goes through.
type loanEvent struct {
	Carrier      string `json:"carrier"`
	Title        string `json:"title"`
	SignOut      string `json:"sign_out"`
	Borrower     string `json:"borrower"`
	BorrowerName string `json:"borrower_name"`
	Second       string `json:"second"`
	Purpose      string `json:"purpose"`
	Approver     string `json:"approver"`
	By           string `json:"by"`
	Due          string `json:"due"`
	MayLeave     bool   `json:"may_leave"`
	Approved     *bool  `json:"approved"` // absent in a room's events before approvals existed
}

// openLoans reads the open sign-outs of every room from the carrier events.
func (s *Server) openLoans() (map[string]*loanView, error) {
	recs, err := s.Store.Events(sqlite.EventFilter{Types: []string{"carrier.signout_asked", "carrier.extend_asked", "carrier.signed_out", "carrier.approved", "carrier.extended", "carrier.returned", "carrier.overdue"}})
	if err != nil {
		return nil, err
	}
	open := map[string]*loanView{}
	for _, r := range recs {
		var d loanEvent
		if err := json.Unmarshal(r.Data, &d); err != nil {
			s.Log.Warn("carrier event unreadable: left out", "room", r.Room, "seq", r.Seq, "err", err)
			continue
		}
		key := r.Room + "/" + d.SignOut
		due, _ := time.Parse(time.RFC3339, d.Due)
		asked := r.Room + "/asked/" + d.Carrier
		switch r.Type {
		case "carrier.signout_asked":
			// top secret, waiting for the second person's own confirmation
			if s.Clock.Now().Sub(r.TS) < gateway.SecondWindow {
				open[asked] = &loanView{Room: r.Room, Carrier: d.Carrier, Title: d.Title, Borrower: d.Borrower, BorrowerName: d.BorrowerName,
					Second: d.Second, Purpose: d.Purpose, By: d.By, At: r.TS, Pending: true}
			}
		case "carrier.signed_out":
			delete(open, asked)
			open[key] = &loanView{Room: r.Room, ID: d.SignOut, Carrier: d.Carrier, Title: d.Title, Borrower: d.Borrower,
				BorrowerName: d.BorrowerName, Second: d.Second, Purpose: d.Purpose, Approver: d.Approver, By: d.By,
				MayLeave: d.MayLeave, At: r.TS, Due: due, Pending: d.Approved != nil && !*d.Approved}
		case "carrier.approved":
			if l := open[key]; l != nil {
				l.Pending = false
			}
		case "carrier.extend_asked":
			// waiting for its approver's own confirmation
			if l := open[key]; l != nil && s.Clock.Now().Sub(r.TS) < gateway.SecondWindow {
				l.Pending = true
			}
		case "carrier.extended":
			if l := open[key]; l != nil {
				l.Due, l.Approver, l.Overdue, l.Pending = due, d.Approver, false, false
			}
		case "carrier.overdue":
			if l := open[key]; l != nil {
				l.Overdue = true
			}
		case "carrier.returned":
			delete(open, key)
		}
	}
	now := s.Clock.Now()
	for _, l := range open {
		l.Overdue = l.Overdue || now.After(l.Due)
	}
	return open, nil
}

// masterCarriers is the dashboard's carrier register by id (empty when
// none was kept here).
func (s *Server) masterCarriers() map[string]gateway.Carrier {
	out := map[string]gateway.Carrier{}
	reg, err := s.Store.Register("carriers")
	if err != nil || reg == nil || reg.CSV == "" {
		return out
	}
	list, err := gwcsv.ReadCarriers(strings.NewReader(reg.CSV), "carrier register", gateway.MaxRecords)
	if err != nil {
		return out
	}
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}

// inventoryOf reads a retained inventory report.
func inventoryOf(r dashboard.Retained) (gateway.InventoryReport, bool) {
	var rep gateway.InventoryReport
	return rep, json.Unmarshal(r.Payload, &rep) == nil && rep.ID != ""
}

func (s *Server) carriers(w http.ResponseWriter, r *request) {
	states, err := s.Store.Retained(r.URL.Query().Get("room"), "carrier")
	var loans map[string]*loanView
	if err == nil {
		loans, err = s.openLoans()
	}
	var reports []dashboard.Retained
	if err == nil {
		reports, err = s.Store.Retained(r.URL.Query().Get("room"), "inventories")
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	master := s.masterCarriers()
	var list []carrierView
	counts := map[string]int{}
	for _, st := range states {
		v := carrierView{Room: st.Room}
		if json.Unmarshal(st.Payload, &v.CarrierState) != nil {
			continue
		}
		// The register's facts: the console's own copy when it keeps one,
		// else what the room publishes with the state (issue 28: the
		// name and class columns were empty for a register imported on
		// the Pi).
		var said struct {
			Title, Class, Kind, Home, Custodian string
			Document                            string `json:"document"`
			DocNumber                           string `json:"doc_number"`
			Period                              string `json:"period"`
			Copy                                int    `json:"copy"`
			Copies                              int    `json:"copies"`
		}
		if err := json.Unmarshal(st.Payload, &said); err != nil {
			s.Log.Warn("a carrier's state unreadable: its register facts left out", "room", st.Room, "carrier", v.ID, "err", err)
		}
		c, ok := master[v.ID]
		if !ok {
			c = gateway.Carrier{Title: said.Title, Class: gateway.Classification(said.Class), Kind: said.Kind, Home: said.Home, Custodian: said.Custodian}
		}
		v.Title, v.Class, v.Kind, v.Home, v.Custodian = c.Title, string(c.Class), c.Kind, c.Home, c.Custodian
		v.Document, v.DocNumber, v.Period, v.Copy, v.Copies = said.Document, said.DocNumber, said.Period, said.Copy, said.Copies
		if v.SignOut != "" {
			v.Loan = loans[st.Room+"/"+v.SignOut]
			if v.Loan != nil && v.Title == "" {
				v.Title = v.Loan.Title
			}
		}
		counts[string(v.Status)]++
		list = append(list, v)
	}
	var out []*loanView
	for _, l := range loans {
		out = append(out, l)
	}
	// overdue first, then by due time
	slices.SortFunc(out, func(a, b *loanView) int {
		if a.Overdue != b.Overdue {
			if a.Overdue {
				return -1
			}
			return 1
		}
		return a.Due.Compare(b.Due)
	})
	var invs []gateway.InventoryReport
	for _, rr := range reports {
		if rep, ok := inventoryOf(rr); ok {
			invs = append(invs, rep)
		}
	}
	slices.SortFunc(invs, func(a, b gateway.InventoryReport) int { return b.At.Compare(a.At) })
	today := s.Clock.Now().In(s.zone()).Format(time.DateOnly)
	var review []carrierView
	for _, v := range list {
		if v.PeriodOver(today) {
			review = append(review, v)
		}
	}
	now := s.Clock.Now().In(s.zone())
	s.render(w, r, "carriers", map[string]any{"Carriers": list, "Loans": out, "Inventories": invs, "Counts": counts, "Review": review,
		"Rooms": s.Store.Rooms(), "Error": r.URL.Query().Get("error"),
		"Due": now.Add(4 * time.Hour).Format("2006-01-02T15:04")})
}

func (s *Server) inventoryPage(w http.ResponseWriter, r *request) {
	room, id := r.PathValue("room"), r.PathValue("id")
	list, err := s.Store.Retained(room, "inventories")
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	for _, rr := range list {
		if rep, ok := inventoryOf(rr); ok && rr.Key == id {
			s.auditf(r, "inventory.read", room, id, "", "ok")
			s.render(w, r, "inventory", rep)
			return
		}
	}
	s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no inventory report %q in room %q", id, room))
}

// carrierCommand carries out a carrier form: sign out, return, extend, or
// take an inventory.
func (s *Server) carrierCommand(w http.ResponseWriter, r *request) {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	room, carrier, what := f("room"), f("carrier"), r.PathValue("what")
	var err error
	args := map[string]any{}
	name, detail := "", ""
	if room == "" {
		err = gateway.Errorf(gateway.EINVALID, "room: which room is missing")
	}
	optional := func(k string) {
		if v := f(k); v != "" {
			args[k] = v
		}
	}
	// due: required to extend; a sign-out without one is due at the end of
	// the working day (the room decides)
	dueArg := func(required bool) {
		due, derr := formTime(f("due"), s.zone())
		switch {
		case derr != nil:
			err = gateway.Errorf(gateway.EINVALID, "due: %v", derr)
		case due.IsZero() && required:
			err = gateway.Errorf(gateway.EINVALID, "due: the new due time is missing")
		case !due.IsZero():
			args["due"] = due.Format(time.RFC3339)
		}
	}
	switch what {
	case "signout":
		name = "carrier/signout"
		args["carrier"], args["borrower"], args["purpose"] = carrier, f("borrower"), f("purpose")
		args["may_leave"] = r.PostFormValue("may_leave") == "on"
		optional("second")
		optional("approver")
		args["session"] = sessionTag(r)
		dueArg(false)
		detail = fmt.Sprintf("to %s, %s, due %s, may leave %v, approver %s", f("borrower"), f("purpose"), f("due"), args["may_leave"], f("approver"))
	case "return":
		name, args["carrier"] = "carrier/return", carrier
	case "approve":
		// the approver's own confirmation, through this session: another
		// channel than the sign-out's
		name, args["carrier"], args["session"] = "carrier/approve", carrier, sessionTag(r)
	case "extend":
		name, args["carrier"] = "carrier/extend", carrier
		optional("approver")
		dueArg(true)
		detail = fmt.Sprintf("due %s, approver %s", f("due"), f("approver"))
	case "inventory":
		name = "inventory/run"
	default:
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no carrier command %q", what))
		return
	}
	if name != "inventory/run" && carrier == "" && err == nil {
		err = gateway.Errorf(gateway.EINVALID, "carrier: which carrier is missing")
	}
	if err != nil {
		s.auditf(r, "carrier."+what, room, carrier, detail, result(err))
	} else {
		_, err = s.call(r, "carrier."+what, room, carrier, name, args, detail)
	}
	back(w, r, "/carriers", err)
}
