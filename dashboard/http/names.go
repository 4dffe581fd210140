package http

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/roomguard/roomguard/gateway"
	gwcsv "github.com/roomguard/roomguard/gateway/csv"
)

// names shows ids as what people call them: a room, a device and a person by
// name, a machine word in the page's language. One is made for every page
// and reads the replica only when asked.
type names struct {
	s       *Server
	lang    string
	devices map[string]map[string]string // room → device → name
	rooms   map[string]string
	users   map[string]string // login → full name
	seen    map[string]string // person id → the name the rooms gave at a door
}

func (s *Server) names(lang string) *names { return &names{s: s, lang: lang} }

// Room is a room's name, or its id.
func (n *names) Room(id string) string {
	if n.rooms == nil {
		n.rooms = map[string]string{}
		for _, r := range n.s.Store.Rooms() {
			n.rooms[r.Room] = r.Name
		}
	}
	return cmp.Or(n.rooms[id], id)
}

// Device is a device's name in room, or its id.
func (n *names) Device(room, id string) string {
	if id == "" {
		return ""
	}
	if n.devices == nil {
		n.devices = map[string]map[string]string{}
	}
	m, ok := n.devices[room]
	if !ok {
		m = map[string]string{}
		rs, err := n.s.Store.Retained(room, "devices")
		if err != nil {
			n.s.Log.Warn("device names not read: ids shown", "room", room, "err", err)
		}
		for _, r := range rs {
			var d deviceView
			if json.Unmarshal(r.Payload, &d) == nil && d.Name != "" {
				m[r.Key] = d.Name
			}
		}
		// The names the room's status gives: its readers and boards too,
		// which have no state of their own (issue 28).
		if st, err := n.s.Store.RetainedPayload(room, "status", ""); err == nil && len(st) > 0 {
			var s struct {
				Names map[string]string `json:"names"`
			}
			if json.Unmarshal(st, &s) == nil {
				for id, name := range s.Names {
					if _, ok := m[id]; !ok && name != "" {
						m[id] = name
					}
				}
			}
		}
		n.devices[room] = m
	}
	return cmp.Or(m[id], id)
}

// Person is a register person's name, or else a console account's full
// name (an account not bound to a register person gives its login as by:
// issue 28), or the id as given (a principal).
func (n *names) Person(id string) string {
	if id == "" {
		return ""
	}
	if name := n.s.people()[personKey(id)]; name != "" {
		return name
	}
	// No register at the console (imported on the Pi): the name the rooms
	// gave with the person at a door (issue 28: "布防被拒绝 p-zhang").
	if name, ok := n.seen[id]; ok {
		if name != "" {
			return name
		}
	} else {
		name, err := n.s.Store.PersonName(id)
		if err != nil {
			n.s.Log.Warn("a person's name not read: the id shown", "person", id, "err", err)
		}
		if n.seen == nil {
			n.seen = map[string]string{}
		}
		if n.seen[id] = name; name != "" {
			return name
		}
	}
	return n.User(id)
}

// User is a console account's full name, or its login (each read once a
// page).
func (n *names) User(login string) string {
	if login == "" {
		return ""
	}
	if name, ok := n.users[login]; ok {
		return name
	}
	name := login
	if u, err := n.s.Store.User(login); err == nil && u.Display != "" {
		name = u.Display
	}
	if n.users == nil {
		n.users = map[string]string{}
	}
	n.users[login] = name
	return name
}

// People names each of ids, joined.
func (n *names) People(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = n.Person(id)
	}
	return strings.Join(out, "、")
}

// people maps the normalized ids of the personnel register's people to their
// names, read again when the register's version moves.
func (s *Server) people() map[string]string {
	reg, err := s.Store.Register("personnel")
	if err != nil || reg == nil {
		return nil
	}
	s.peopleMu.Lock()
	defer s.peopleMu.Unlock()
	if s.peopleOf.version == reg.Version && s.peopleOf.names != nil {
		return s.peopleOf.names
	}
	people, err := gwcsv.ReadPeople(strings.NewReader(reg.CSV), "personnel register", gateway.MaxRecords)
	if err != nil {
		s.Log.Warn("personnel register unreadable: ids shown for people", "err", err)
	}
	m := make(map[string]string, len(people))
	for _, p := range people {
		m[personKey(p.ID)] = p.Name
	}
	s.peopleOf.version, s.peopleOf.names = reg.Version, m
	return m
}

// peopleCache is the register's names at a version.
type peopleCache struct {
	version int64
	names   map[string]string
}

// personKey is how a person's id is compared: trimmed and case-folded, as
// the rooms do (gateway.SamePerson).
func personKey(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// Say tells what an event means in a sentence of the page's language, with
// names: "张伟 从外侧读卡器刷卡进入", "北窗 打开", "报警：入侵 · 红外探测器".
func (n *names) Say(ev gateway.Event) string {
	var d struct {
		PersonName string          `json:"person_name"`
		PersonID   string          `json:"person_id"`
		Name       string          `json:"name"`
		Direction  string          `json:"direction"`
		Reason     string          `json:"reason"`
		Card       string          `json:"card"`
		Class      string          `json:"class"`
		Priority   int             `json:"priority"`
		Level      int             `json:"level"`
		Comment    string          `json:"comment"`
		By         json.RawMessage `json:"by"`
		Person     string          `json:"person"`
		Channel    string          `json:"channel"`
		Op         string          `json:"op"`
		Verdict    string          `json:"verdict"`
		Cmd        string          `json:"cmd"`
		Code       string          `json:"code"`
		Seal       bool            `json:"seal"`
		// a carrier's events
		Title        string `json:"title"`
		Borrower     string `json:"borrower"`
		BorrowerName string `json:"borrower_name"`
		// the steps of a carrier's life (issue 30)
		Method     string          `json:"method"`
		Approver   string          `json:"approver"`
		Witnesses  []string        `json:"witnesses"`
		List       string          `json:"list"`
		Ref        string          `json:"ref"`
		As         string          `json:"as"`
		WaitingFor []string        `json:"waiting_for"`
		From       string          `json:"from"`
		To         string          `json:"to"`
		FromName   string          `json:"from_name"`
		ToName     string          `json:"to_name"`
		DocNumber  string          `json:"doc_number"`
		Carriers   json.RawMessage `json:"carriers"` // a list in a step's events
		Kind       string          `json:"kind"`     // a carrier's, a place's; a sign-out's (circulation, reading)
		Holder     string          `json:"holder"`   // a key's or a combination's
		Witness    string          `json:"witness"`
	}
	l := n.lang
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &d); err != nil { // said, not guessed at
			return word(l, "ev", ev.Type) + " " + n.Device(ev.Room, ev.Device) + " · " + tr(l, "event.unreadable")
		}
	}
	en := l == "en"
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, " ")
	}
	who := cmp.Or(d.PersonName, n.Person(cmp.Or(ev.Person, d.PersonID)))
	if by := n.by(d.By); by != "" {
		who = by
	}
	device := n.Device(ev.Room, ev.Device)
	what := word(l, "ev", ev.Type)
	reader := word(l, "reader", d.Direction)
	switch {
	case gateway.IsInputEvent(ev.Type):
		return join(device, word(l, "st", gateway.InputEventState(ev.Type)))
	case ev.Type == "access.granted" || ev.Type == "access.entered":
		if en {
			return join(who, "badged", d.Direction, "at", reader)
		}
		return join(who, "从"+reader+"刷卡"+word(l, "dir", d.Direction))
	case ev.Type == "access.denied":
		if who == "" {
			who = tr(l, "card") + " " + d.Card
		}
		if en {
			return join(who, "denied at", reader+":", word(l, "deny", d.Reason))
		}
		return join(who, "在"+reader+"刷卡被拒："+word(l, "deny", d.Reason))
	case strings.HasPrefix(ev.Type, "alarm."):
		s := what + "：" + word(l, "class", d.Class)
		if en {
			s = what + ": " + word(l, "class", d.Class)
		}
		if ev.Type == "alarm.raised" && d.Priority > 0 {
			s += " " + prio(l, d.Priority)
		}
		if ev.Type == "alarm.escalated" && d.Level > 0 {
			s += fmt.Sprintf(" ↑%d", d.Level)
		}
		s = join(s, device)
		if ev.Type == "alarm.acknowledged" {
			s = join(who, s)
			if d.Comment != "" {
				s += "（" + d.Comment + "）"
			}
		}
		return s
	case ev.Type == "notify.sent" || ev.Type == "notify.failed":
		return join(what, cmp.Or(d.Name, n.Person(d.Person)), "·", tr(l, "channel."+d.Channel))
	case ev.Type == "mode.arming" && d.Seal: // a seal confirmed by two badges: its exit delay
		return join(who, tr(l, "mode.sealing"))
	case ev.Type == "seal.confirmation":
		return join(who, what, tr(l, "op."+d.Op))
	case ev.Type == "seal.report" || ev.Type == "mode.unsealed":
		s := join(who, what)
		if d.Verdict != "" {
			s = join(s, "·", tr(l, "verdict."+d.Verdict))
		}
		return s
	case ev.Type == "visitor.registered" || ev.Type == "visitor.checked_out":
		return join(d.Name, what)
	case ev.Type == "safe.combination_changed" || ev.Type == "safe.combination_asked":
		if en {
			return join(who, what, device, "— witness", n.Person(d.Witness), "· holder", n.Person(d.Holder))
		}
		return join(who, what, device, "· 见证人", n.Person(d.Witness), "· 保管人", n.Person(d.Holder))
	case ev.Type == "auth.refused":
		return join(what, d.Cmd)
	case strings.HasPrefix(ev.Type, "carrier.") || ev.Type == "custody.transferred":
		if s, ok := n.sayCarrier(ev, what, who, d.Title, d.Method, d.Approver, d.Witnesses, d.List, d.Ref, d.As, d.WaitingFor,
			d.From, d.To, d.FromName, d.ToName, d.Op, d.Carriers, cmp.Or(d.BorrowerName, n.Person(d.Borrower)), d.Kind); ok {
			return s
		}
	}
	return join(who, what, device)
}

// sayCarrier tells the steps of a carrier's life with names: who did what
// to which carrier, and with whom (issue 30: the timeline an inspector
// reads). ok is false for an event it does not tell.
func (n *names) sayCarrier(ev gateway.Event, what, who, title, method, approver string, witnesses []string, list, ref, as string,
	waiting []string, from, to, fromName, toName, op string, carriers json.RawMessage, borrower, kind string) (string, bool) {
	l := n.lang
	en := l == "en"
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, " ")
	}
	label := func(zh, enw, v string) string {
		if v == "" {
			return ""
		}
		if en {
			return "· " + enw + " " + v
		}
		return "· " + zh + " " + v
	}
	carrier := n.Device(ev.Room, ev.Device)
	if title != "" {
		carrier += "《" + title + "》"
	}
	var ids []string // a list in a step's events; an object (a seal's snapshot) or absent elsewhere
	if len(carriers) > 0 && carriers[0] == '[' {
		if err := json.Unmarshal(carriers, &ids); err != nil {
			ids = []string{string(carriers)} // said as it came
		}
	}
	known := func(vocab, w string) string { // a word the vocabulary has, never a machine word
		if _, ok := messages[vocab+"."+w]; ok {
			return tr(l, vocab+"."+w)
		}
		return ""
	}
	paren := func(s string) string {
		if s == "" {
			return ""
		}
		return "（" + s + "）"
	}
	switch ev.Type {
	case "carrier.signed_out", "carrier.returned", "carrier.circulated":
		// The carrier with its title, and to whom (issue 28: the borrower
		// and the title were dropped); a copy circulated goes to a reader.
		if en {
			return join(who, what, carrier, "— borrower", borrower), true
		}
		if ev.Type == "carrier.circulated" || kind != "" {
			return join(who, what, carrier, "· 阅读人", borrower), true
		}
		return join(who, what, carrier, "· 借阅人", borrower), true
	case "carrier.destroyed":
		return join(who, what, carrier, "·", known("method", method), label("审批", "approved by", n.Person(approver)),
			label("监销", "witnessed by", n.People(witnesses)), label("销毁清单", "list", list)), true
	case "carrier.archived", "carrier.returned_to_issuer":
		return join(who, what, carrier, label("去向", "to", to), label("编号", "ref", ref)), true
	case "carrier.step_asked":
		return join(who, what, known("step", op), strings.Join(ids, ", "), label("待确认", "waiting for", n.People(waiting))), true
	case "carrier.confirmed":
		return join(who, what, known("step", op), paren(known("as", as)), label("待确认", "waiting for", n.People(waiting))), true
	case "carrier.step_expired":
		return join(known("step", op), what, label("未确认", "not confirmed by", n.People(waiting))), true
	case "carrier.copied":
		return join(who, what, carrier, "→", strings.Join(ids, ", "), label("审批", "approved by", n.Person(approver))), true
	case "custody.transferred":
		return join(what, cmp.Or(fromName, n.Person(from)), "→", cmp.Or(toName, n.Person(to)), "·", strings.Join(ids, ", ")), true
	case "carrier.resurrected", "carrier.lost", "carrier.received":
		return join(who, what, carrier), true
	}
	return "", false
}

// Who names an alarm's device that may be a person (the escort of a
// visitor-unescorted alarm) or a device of room.
func (n *names) Who(room, id string) string {
	if p := n.Person(id); p != id {
		return p
	}
	return n.Device(room, id)
}

// Circle says a need-to-know list (知悉范围): each person by name, each
// role of the register in words.
func (n *names) Circle(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if _, ok := messages["prole."+id]; ok {
			out[i] = tr(n.lang, "prole."+id)
		} else {
			out[i] = n.Person(id)
		}
	}
	sep := "、"
	if n.lang == "en" {
		sep = ", "
	}
	return strings.Join(out, sep)
}

// by reads a mode event's "by": one person or several.
func (n *names) by(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return n.People(many)
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return n.Person(one)
	}
	return ""
}

// Finding says one cause of a seal's verdict with names, in the page's
// language.
func (n *names) Finding(room string, f gateway.SealFinding) string {
	l := n.lang
	sep := "："
	if l == "en" {
		sep = ": "
	}
	at := ""
	if f.At != "" {
		at = n.s.stamp(f.At) + " "
	}
	where := func(safe string) string {
		if safe == "" {
			return tr(l, "finding.nowhere")
		}
		return n.Device(room, safe)
	}
	switch f.Kind {
	case gateway.FindingMissing:
		return fmt.Sprintf("%s%s%s %d–%d", tr(l, "finding.missing"), sep, tr(l, "seq"), f.Seq, f.To)
	case gateway.FindingUnreadable:
		return fmt.Sprintf("%s%s%s%s %d（%s）", at, tr(l, "finding.unreadable"), sep, tr(l, "seq"), f.Seq, word(l, "ev", f.Type))
	case gateway.FindingAlarm:
		return at + word(l, "ev", f.Type) + sep + word(l, "class", f.Class) + " " + n.Device(room, f.Device)
	case gateway.FindingInput:
		return at + n.Device(room, f.Device) + " " + word(l, "st", gateway.InputEventState(f.Type))
	case gateway.FindingChanged:
		return tr(l, "finding.changed") + sep + n.Device(room, f.Device) + " " + word(l, "st", f.Was) + " → " + word(l, "st", f.Now)
	case gateway.FindingCarrier:
		return tr(l, "finding.carrier") + sep + f.Device + " " + where(f.Was) + " → " + where(f.Now)
	case gateway.FindingDowntime:
		from := n.s.stamp(f.From)
		if f.From == "unknown" {
			from = "?"
		}
		return tr(l, "finding.downtime") + sep + from + " – " + n.s.stamp(f.At)
	}
	return f.String()
}

// personChoice is a person a form offers: the id it sends, the name shown.
type personChoice struct{ ID, Name string }

// peopleChoices are the people a form offers, by name.
func (s *Server) peopleChoices() []personChoice {
	m := map[string]string{}
	if reg, err := s.Store.Register("personnel"); err == nil && reg != nil {
		if people, err := gwcsv.ReadPeople(strings.NewReader(reg.CSV), "personnel register", gateway.MaxRecords); err == nil {
			for _, p := range people {
				m[p.ID] = p.Name
			}
		}
	}
	if len(m) == 0 {
		seen, err := s.Store.PeopleSeen(2000)
		if err != nil {
			s.Log.Warn("people for the forms not read", "err", err)
		}
		m = seen
	}
	out := make([]personChoice, 0, len(m))
	for id, name := range m {
		out = append(out, personChoice{id, name})
	}
	slices.SortFunc(out, func(a, b personChoice) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out
}
