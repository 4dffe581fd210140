package http

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
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
	NeedToKnow                  []string
	// Pending: a step of its life waiting for people (issue 30); Ended:
	// how its life in the room ended.
	Pending *pendingView
	Ended   *gateway.CarrierEnd
}

// pendingView is a step of carriers' lives waiting for people, as the
// carriers' retained states show it.
type pendingView struct {
	Room       string
	Step       string   `json:"step"`
	Op         string   `json:"op"`
	By         string   `json:"by"`
	At         string   `json:"at"`
	WaitingFor []string `json:"waiting_for"`
	Carriers   []string
	// Mine: the account's person is one it waits for.
	Mine bool
}

// statusFilters are the carriers page's status filter, in its order.
var statusFilters = []gateway.CarrierStatus{gateway.CarrierHome, gateway.CarrierCirculating, gateway.CarrierSignedOut, gateway.CarrierAway,
	gateway.CarrierMissing, gateway.CarrierArchived, gateway.CarrierReturnedUp, gateway.CarrierDestroyed, gateway.CarrierLost}

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
	status, doc := r.URL.Query().Get("status"), strings.TrimSpace(r.URL.Query().Get("doc"))
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
		// The retained state's sign_out is an object (its id, borrower,
		// due time): read as the state's own string it failed the whole
		// decoding, and a carrier signed out vanished from the list.
		var held struct {
			gateway.CarrierState
			SignOut *struct {
				ID string `json:"id"`
			} `json:"sign_out"`
		}
		if err := json.Unmarshal(st.Payload, &held); err != nil {
			s.Log.Warn("a carrier's state unreadable: left out", "room", st.Room, "key", st.Key, "err", err)
			continue
		}
		v.CarrierState = held.CarrierState
		if held.SignOut != nil {
			v.SignOut = held.SignOut.ID
		}
		// The register's facts: the console's own copy when it keeps one,
		// else what the room publishes with the state (issue 28: the
		// name and class columns were empty for a register imported on
		// the Pi).
		var said struct {
			Title, Class, Kind, Home, Custodian string
			Document                            string              `json:"document"`
			DocNumber                           string              `json:"doc_number"`
			Period                              string              `json:"period"`
			Copy                                int                 `json:"copy"`
			Copies                              int                 `json:"copies"`
			NeedToKnow                          []string            `json:"need_to_know"`
			Pending                             *pendingView        `json:"pending"`
			Ended                               *gateway.CarrierEnd `json:"ended"`
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
		v.NeedToKnow, v.Pending, v.Ended = said.NeedToKnow, said.Pending, said.Ended
		if v.SignOut != "" {
			v.Loan = loans[st.Room+"/"+v.SignOut]
			if v.Loan != nil && v.Title == "" {
				v.Title = v.Loan.Title
			}
		}
		counts[string(v.Status)]++
		if status != "" && string(v.Status) != status || doc != "" && !strings.Contains(v.Document+" "+v.DocNumber+" "+v.ID+" "+v.Title, doc) {
			continue
		}
		list = append(list, v)
	}
	steps := s.stepsWaiting(states, cmp.Or(r.User.Person, r.User.Name))
	keys, err := s.keyLines(r.URL.Query().Get("room"), s.Clock.Now(), time.Time{})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
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
		"Rooms": s.Store.Rooms(), "Error": r.URL.Query().Get("error"), "Steps": steps, "Keys": keys, "Status": status, "Doc": doc, "Statuses": statusFilters,
		"Due": now.Add(4 * time.Hour).Format("2006-01-02T15:04")})
}

// stepsWaiting gathers the steps of carriers' lives waiting for people from
// the carriers' retained states, oldest first; those waiting for person
// are marked Mine.
func (s *Server) stepsWaiting(states []dashboard.Retained, person string) []*pendingView {
	by := map[string]*pendingView{}
	var out []*pendingView
	for _, st := range states {
		var said struct {
			ID      string       `json:"id"`
			Pending *pendingView `json:"pending"`
		}
		if json.Unmarshal(st.Payload, &said) != nil || said.Pending == nil {
			continue
		}
		key := st.Room + "/" + said.Pending.Step
		p := by[key]
		if p == nil {
			p = said.Pending
			p.Room = st.Room
			p.Mine = person != "" && slices.ContainsFunc(p.WaitingFor, func(x string) bool { return personKey(x) == personKey(person) })
			by[key] = p
			out = append(out, p)
		}
		p.Carriers = append(p.Carriers, said.ID)
	}
	slices.SortFunc(out, func(a, b *pendingView) int { return strings.Compare(a.At, b.At) })
	for _, p := range out {
		slices.Sort(p.Carriers)
	}
	return out
}

// carrierPage is one carrier's whole life: its facts and every event of
// the room about it, in order, in sentences with names (issue 30).
func (s *Server) carrierPage(w http.ResponseWriter, r *request) {
	room, id := r.PathValue("room"), r.PathValue("id")
	states, err := s.Store.Retained(room, "carrier")
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	var state map[string]any
	for _, st := range states {
		if st.Key == id {
			if err := json.Unmarshal(st.Payload, &state); err != nil {
				s.fail(w, r, http.StatusInternalServerError, err.Error())
				return
			}
		}
	}
	recs, err := s.Store.Events(sqlite.EventFilter{Room: room, Carrier: id, Types: []string{"carrier.", "custody.", "alarm.raised"}})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	if state == nil && len(recs) == 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no carrier %q in room %q", id, room))
		return
	}
	s.auditf(r, "carrier.read", room, id, "", "ok")
	var circle []string
	if list, ok := state["need_to_know"].([]any); ok {
		for _, x := range list {
			circle = append(circle, fmt.Sprint(x))
		}
	}
	s.render(w, r, "carrier", map[string]any{"Room": room, "ID": id, "State": state, "Events": recs, "Circle": circle})
}

// destructionList is a destruction list (销毁清单): every carrier destroyed
// under it, with the method, the approver and the witnesses, for print.
func (s *Server) destructionList(w http.ResponseWriter, r *request) {
	room, list := r.PathValue("room"), r.PathValue("list")
	recs, err := s.Store.Events(sqlite.EventFilter{Room: room, Types: []string{"carrier.destroyed"}})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	type line struct {
		Carrier, Title, Class, Kind, DocNumber, Source, Method, Approver, By string
		Copy                                                                 int
		Witnesses                                                            []string
		At                                                                   time.Time
	}
	var lines []line
	for _, rec := range recs {
		var d struct {
			Carrier   string   `json:"carrier"`
			Title     string   `json:"title"`
			Class     string   `json:"class"`
			Kind      string   `json:"kind"`
			DocNumber string   `json:"doc_number"`
			Source    string   `json:"source"`
			Copy      int      `json:"copy"`
			List      string   `json:"list"`
			Method    string   `json:"method"`
			Approver  string   `json:"approver"`
			Witnesses []string `json:"witnesses"`
			By        string   `json:"by"`
		}
		if json.Unmarshal(rec.Data, &d) != nil || d.List != list {
			continue
		}
		lines = append(lines, line{d.Carrier, d.Title, d.Class, d.Kind, d.DocNumber, d.Source, d.Method, d.Approver, d.By, d.Copy, d.Witnesses, rec.TS})
	}
	if len(lines) == 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no destruction list %q in room %q", list, room))
		return
	}
	s.auditf(r, "destruction.read", room, list, "", "ok")
	s.render(w, r, "destruction", map[string]any{"Room": room, "List": list, "Lines": lines, "First": lines[0]})
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
	s.carrierForm(w, r, r.PathValue("what"))
}

// carrierConfirm is a person's own confirmation of a step naming them.
func (s *Server) carrierConfirm(w http.ResponseWriter, r *request) { s.carrierForm(w, r, "confirm") }

// carrierForm carries out the carrier form what.
func (s *Server) carrierForm(w http.ResponseWriter, r *request, what string) {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	room, carrier := f("room"), f("carrier")
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
	case "confirm":
		// the account's person's own confirmation of a step naming them,
		// through this session
		name, args["session"] = "carrier/confirm", sessionTag(r)
		if step := f("step"); step != "" {
			args["step"] = step
		} else {
			args["carrier"] = carrier
		}
		carrier = cmp.Or(carrier, f("step"))
	case "receive":
		name = "carrier/receive"
		for _, k := range []string{"source", "doc_number", "title", "class", "period", "kind", "home", "custodian"} {
			args[k] = f(k)
		}
		args["need_to_know"] = fields(f("need_to_know"))
		if at := f("bind_at"); at != "" {
			args["bind_at"] = at
			n, cerr := strconv.Atoi(f("copies"))
			if cerr != nil {
				err = gateway.Errorf(gateway.EINVALID, "copies: %q is not a number", f("copies"))
			}
			args["copies"] = n
		} else {
			args["epcs"] = fields(f("epcs"))
		}
		args["session"] = sessionTag(r)
		carrier = f("doc_number")
		detail = fmt.Sprintf("%s %s《%s》", f("source"), f("doc_number"), f("title"))
	case "circulate":
		name = "carrier/circulate"
		args["carrier"], args["reader"] = carrier, f("reader")
		args["in_room"] = r.PostFormValue("in_room") == "on"
		args["session"] = sessionTag(r)
		dueArg(false)
		detail = "to " + f("reader")
	case "end":
		op := f("op")
		if op != "archive" && op != "return-to-issuer" && op != "destroy" {
			err = gateway.Errorf(gateway.EINVALID, "op: %q is not archive, return-to-issuer or destroy", op)
		}
		name = "carrier/" + op
		ids := fields(f("carriers"))
		args["carriers"] = ids
		carrier = strings.Join(ids, ",")
		switch op {
		case "archive":
			args["archive"] = f("to")
		case "return-to-issuer":
			optional("issuer")
			if to := f("to"); to != "" {
				args["issuer"] = to
			}
		case "destroy":
			args["method"], args["approver"], args["witnesses"] = f("method"), f("approver"), []string{f("witness1"), f("witness2")}
		}
		optional("ref")
		args["session"] = sessionTag(r)
		detail = fmt.Sprintf("%s %s %s", op, f("method"), f("to"))
	case "copy":
		name = "carrier/copy"
		args["carrier"], args["epcs"], args["purpose"], args["approver"] = carrier, fields(f("epcs")), f("purpose"), f("approver")
		args["excerpt"] = r.PostFormValue("excerpt") == "on"
		args["session"] = sessionTag(r)
	case "transfer":
		name = "custody/transfer"
		args["outgoing"], args["incoming"], args["session"] = f("outgoing"), f("incoming"), sessionTag(r)
		carrier = f("outgoing")
		detail = f("outgoing") + " → " + f("incoming")
	case "loss":
		name = "carrier/loss"
		args["carrier"], args["detail"], args["session"] = carrier, f("detail"), sessionTag(r)
		detail = f("detail")
	default:
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no carrier command %q", what))
		return
	}
	if name != "inventory/run" && carrier == "" && err == nil {
		err = gateway.Errorf(gateway.EINVALID, "carrier: which carrier is missing")
	}
	dest := "/carriers"
	if p := f("back"); strings.HasPrefix(p, "/carriers/") && !strings.ContainsAny(p, "?#\\") {
		dest = p // the carrier's own page the form was on
	}
	if err != nil {
		s.auditf(r, "carrier."+what, room, carrier, detail, result(err))
	} else {
		_, err = s.call(r, "carrier."+what, room, carrier, name, args, detail)
	}
	back(w, r, dest, err)
}

// fields splits a form's list: commas, 、, spaces or new lines.
func fields(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == '，' || r == '、' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	})
}
