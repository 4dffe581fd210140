package dashboard

import (
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Finding is a problem an inspection found (发现问题) and its
// rectification (整改, issue 31): an owner and a deadline, the owner's note
// of what was done, and its closure by another account than the one who
// rectified it.
type Finding struct {
	N           int64
	Room        string
	Item        string // CheckItems' key
	Text        string
	Owner       string
	Deadline    string // YYYY-MM-DD
	Unannounced bool   // found at an unannounced inspection (突击检查)
	Opened      time.Time
	OpenedBy    string
	Rectified   time.Time
	RectifiedBy string
	Note        string
	Closed      time.Time
	ClosedBy    string
}

// Overdue tells whether the finding is still open past its deadline on
// today (YYYY-MM-DD).
func (f *Finding) Overdue(today string) bool { return f.Closed.IsZero() && f.Deadline < today }

// Check validates a finding to be opened.
func (f *Finding) Check() error {
	switch {
	case strings.TrimSpace(f.Room) == "":
		return gateway.Errorf(gateway.EINVALID, "room: missing")
	case !CheckItemKnown(f.Item):
		return gateway.Errorf(gateway.EINVALID, "item: %q is not an item of the checklist", f.Item)
	case strings.TrimSpace(f.Text) == "":
		return gateway.Errorf(gateway.EINVALID, "text: what was found is missing")
	case strings.TrimSpace(f.Owner) == "":
		return gateway.Errorf(gateway.EINVALID, "owner: who puts it right is missing")
	}
	if _, err := time.Parse(time.DateOnly, f.Deadline); err != nil {
		return gateway.Errorf(gateway.EINVALID, "deadline: %q is not a date (YYYY-MM-DD)", f.Deadline)
	}
	return nil
}

// Rectify records what was done (the note), by by at at.
func (f *Finding) Rectify(by, note string, at time.Time) error {
	switch {
	case !f.Closed.IsZero():
		return gateway.Errorf(gateway.ECONFLICT, "finding %d is closed", f.N)
	case strings.TrimSpace(note) == "":
		return gateway.Errorf(gateway.EINVALID, "note: what was done is missing")
	}
	f.Rectified, f.RectifiedBy, f.Note = at, by, note
	return nil
}

// Close closes a rectified finding: by another account than the one who
// rectified it.
func (f *Finding) Close(by string, at time.Time) error {
	switch {
	case !f.Closed.IsZero():
		return gateway.Errorf(gateway.ECONFLICT, "finding %d is closed already", f.N)
	case f.Rectified.IsZero():
		return gateway.Errorf(gateway.ECONFLICT, "finding %d is not rectified yet", f.N)
	case strings.EqualFold(strings.TrimSpace(by), strings.TrimSpace(f.RectifiedBy)):
		return gateway.Errorf(gateway.ESAMEPERSON, "finding %d: %s rectified it; another closes it", f.N, by)
	}
	f.Closed, f.ClosedBy = at, by
	return nil
}

// CheckItems are the self-inspection's checklist, in the practice of the
// reports in ../shared/seeds (004): each item's key, in order.
var CheckItems = []string{"three-irons", "intrusion", "four-protections", "entries", "visitors", "carriers", "circulation", "seals", "keys", "maintenance", "staff"}

// CheckItemKnown tells whether key is an item of the checklist.
func CheckItemKnown(key string) bool {
	for _, k := range CheckItems {
		if k == key {
			return true
		}
	}
	return false
}

// CheckLine is one item of the checklist as a report fills it: what the
// log proves (ok or problem, with the evidence), or what the inspector
// checks on the spot (inspect).
type CheckLine struct {
	Key    string
	Status string     // CheckOK, CheckProblem, CheckInspect
	Count  int        // what it counted (entries, inventories, seals…)
	Detail []CheckRef // what is wrong
}

// CheckRef is one thing a checklist item names: a device of a room, a
// carrier, a person, or a text (a seal's, an inventory's, a visit's id).
type CheckRef struct {
	Room, ID string
	Kind     string // device, carrier, person, text
}

// The states of a checklist item.
const (
	CheckOK      = "ok"
	CheckProblem = "problem"
	CheckInspect = "inspect" // the log cannot prove it: the inspector checks it
)

// Checklist fills the checklist from a report, and the last motion each
// IR detector of detectors reported in the period (zero: none).
//
// protections are the rooms' fire, water and climate sensors (room/device):
// with none, 四防 is checked on the spot; with some, a fire, water or
// environment alarm in the period is a problem.
func (in *Inspection) Checklist(detectors map[string]time.Time, maintenanceRemoved, protections []string) []CheckLine {
	var out []CheckLine
	add := func(key, status string, count int, detail []CheckRef) {
		out = append(out, CheckLine{Key: key, Status: status, Count: count, Detail: detail})
	}
	texts := func(kind string, ids []string) []CheckRef {
		var refs []CheckRef
		for _, id := range ids {
			room, dev, ok := strings.Cut(id, "/")
			if !ok || kind == "text" {
				room, dev = "", id
			}
			refs = append(refs, CheckRef{Room: room, ID: dev, Kind: kind})
		}
		return refs
	}
	problem := func(bad bool) string {
		if bad {
			return CheckProblem
		}
		return CheckOK
	}
	add("three-irons", CheckInspect, 0, nil)
	var silent []string
	for d, at := range detectors {
		if at.IsZero() {
			silent = append(silent, d)
		}
	}
	slices.Sort(silent)
	if len(detectors) == 0 {
		add("intrusion", CheckInspect, 0, nil)
	} else {
		add("intrusion", problem(len(silent) > 0), len(detectors), texts("device", silent))
	}
	if len(protections) == 0 {
		add("four-protections", CheckInspect, 0, nil)
	} else {
		var alarmed []CheckRef
		for _, a := range in.Alarms {
			switch gateway.AlarmClass(a.Class) {
			case gateway.AlarmFire, gateway.AlarmWater, gateway.AlarmEnvironment:
				alarmed = append(alarmed, CheckRef{Room: a.Room, ID: a.Device, Kind: "device"})
			}
		}
		add("four-protections", problem(len(alarmed) > 0), len(protections), alarmed)
	}
	entries := 0
	for _, n := range in.Entries.ByResult {
		entries += n
	}
	add("entries", CheckOK, entries, nil)
	var unescorted []CheckRef
	for _, a := range in.Alarms {
		if a.Class == string(gateway.AlarmUnescorted) {
			unescorted = append(unescorted, CheckRef{Room: a.Room, ID: a.Device, Kind: "person"})
		}
	}
	add("visitors", problem(len(unescorted) > 0), in.Visitors, unescorted)
	switch {
	case len(in.Inventories) == 0:
		add("carriers", CheckProblem, 0, nil)
	default:
		last := in.Inventories[len(in.Inventories)-1]
		var bad []CheckRef
		if !last.AllHome {
			bad = []CheckRef{{Room: last.Room, ID: last.ID, Kind: "text"}}
		}
		add("carriers", problem(!last.AllHome), len(in.Inventories), bad)
	}
	var late []CheckRef
	for _, o := range in.Overdue {
		late = append(late, CheckRef{Room: o.Room, ID: o.Carrier, Kind: "carrier"})
	}
	add("circulation", problem(len(late) > 0), len(in.Overdue), late)
	var broken []CheckRef
	for _, s := range in.Seals {
		if s.Verdict != "" && s.Verdict != "intact" {
			broken = append(broken, CheckRef{Room: s.Room, ID: s.SealID, Kind: "text"})
		}
	}
	if len(in.Seals) == 0 {
		add("seals", CheckInspect, 0, nil)
	} else {
		add("seals", problem(len(broken) > 0), len(in.Seals), broken)
	}
	var due []CheckRef
	for _, k := range in.Keys {
		if len(k.Due) > 0 {
			due = append(due, CheckRef{Room: k.Room, ID: k.Device, Kind: "device"})
		}
	}
	add("keys", problem(len(due) > 0), len(in.Keys), due)
	add("maintenance", problem(len(maintenanceRemoved) > 0), 0, texts("text", maintenanceRemoved))
	if in.StaffRegister == nil {
		add("staff", CheckInspect, 0, nil)
	} else {
		var names []CheckRef
		for _, s := range in.Staff {
			names = append(names, CheckRef{ID: s.Name, Kind: "text"})
		}
		add("staff", problem(len(names) > 0), in.StaffChecked, names)
	}
	return out
}

// InspectionDone is an inspection recorded and signed by its inspector:
// its kind, the period its report covered.
type InspectionDone struct {
	N           int64
	Room        string // empty: every room
	Kind        string // InspectionKinds
	At          time.Time
	By          string
	From, Until string // YYYY-MM-DD
	Note        string
}

// InspectionKinds are the inspections the practice does: periodic (定期),
// before a holiday (节前), unannounced (突击).
var InspectionKinds = []string{"periodic", "holiday", "unannounced"}

// InspectEvery is how often a periodic inspection is due by default.
const InspectEvery = 30 * 24 * time.Hour

// InspectionDue says why room's next inspection is due on now, given the
// inspections done (newest first) and its holiday calendar: none in the
// last every (periodic), or a holiday starting within a week and none
// since a week before it (holiday). Empty: not due.
func InspectionDue(room string, done []InspectionDone, holidays []HolidayDates, now time.Time, every time.Duration) string {
	var last time.Time
	for _, d := range done {
		if (d.Room == "" || d.Room == room) && d.At.After(last) {
			last = d.At
		}
	}
	today := now.Format(time.DateOnly)
	week := now.AddDate(0, 0, 7).Format(time.DateOnly)
	for _, h := range holidays {
		if h.From > today && h.From <= week {
			start, err := time.ParseInLocation(time.DateOnly, h.From, now.Location())
			if err == nil && last.Before(start.AddDate(0, 0, -7)) {
				return "holiday"
			}
		}
	}
	if last.IsZero() || now.Sub(last) > every {
		return "periodic"
	}
	return ""
}

// HolidayDates is a holiday's first and last day (YYYY-MM-DD).
type HolidayDates struct{ Name, From, To string }
