package room_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

type occupancySink struct{ last json.RawMessage }

func (o *occupancySink) Occupancy(p json.RawMessage) { o.last = p }

// entry is a room with entry control: the guarded room plus a door strike,
// an exit button, a reader outside and a reader inside.
type entry struct {
	*guarded
}

var people = []gateway.Person{
	{ID: "p-zhang", Name: "张伟", Cards: []string{"62E3086CED"}, Level: gateway.LevelCore, Role: gateway.RoleClerk, Rooms: []string{"jiyao-301"}},
	{ID: "p-li", Name: "李娜", Cards: []string{"04A224E2"}, Level: gateway.LevelImportant, Role: gateway.RoleSecurityOfficer, Rooms: []string{"*"}},
	{ID: "p-wang", Name: "王芳", Cards: []string{"90:324"}, Level: gateway.LevelGeneral, Role: gateway.RoleGuard, Rooms: []string{"jiyao-301"}},
	{ID: "p-old", Name: "赵旧", Cards: []string{"1111111111"}, Level: gateway.LevelGeneral, Role: gateway.RoleClerk, Rooms: []string{"jiyao-301"},
		ValidUntil: "2026-06-30"},
	{ID: "p-new", Name: "钱新", Cards: []string{"2222222222"}, Level: gateway.LevelGeneral, Role: gateway.RoleClerk, Rooms: []string{"jiyao-301"},
		ValidFrom: "2027-01-01"},
	{ID: "p-day", Name: "孙白", Cards: []string{"3333333333"}, Level: gateway.LevelGeneral, Role: gateway.RoleClerk, Rooms: []string{"jiyao-301"},
		Schedule: "mon-fri 09:00-17:00"},
	{ID: "p-other", Name: "周他", Cards: []string{"4444444444"}, Level: gateway.LevelGeneral, Role: gateway.RoleClerk, Rooms: []string{"jiyao-999"}},
}

// accessWith is entry control with the defaults and what set changes.
func accessWith(set func(*gateway.AccessConfig)) gateway.AccessConfig {
	c := config.DefaultAccess()
	set(&c)
	return c
}

// withDoor is entry control of cfg at the main door: its strike, its exit
// button, a reader outside and one inside.
func withDoor(cfg gateway.AccessConfig) gateway.AccessConfig {
	door := config.DefaultDoor("door-main", "strike")
	door.ExitButton = "exit-button"
	cfg.Doors = []gateway.AccessDoor{door}
	cfg.Readers = []gateway.AccessReader{{ID: "reader-out", Door: "door-main", Direction: gateway.DirIn},
		{ID: "reader-in", Door: "door-main", Direction: gateway.DirOut}}
	return cfg
}

// seedPeople writes the personnel register before the first start.
func seedPeople(people []gateway.Person) func(*sqlite.Store) {
	return func(s *sqlite.Store) {
		if _, err := s.ReplacePeople(people, 1, "test", t0); err != nil {
			panic(err)
		}
	}
}

func newEntry(t testing.TB, cfg gateway.AccessConfig) *entry {
	return &entry{guarded: openRoom(t, spec{access: withDoor(cfg), seed: seedPeople(people)})}
}

func (e *entry) badge(reader, card string) gateway.Decision {
	e.t.Helper()
	d, err := e.access.Badge(reader, card, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// pass badges at a reader and goes through the door.
func (e *entry) pass(reader, card string) {
	e.t.Helper()
	e.badge(reader, card)
	e.set("door-main", true)
	e.set("door-main", false)
}

func (e *entry) inside() string {
	var names []string
	for _, o := range e.access.Occupants() {
		names = append(names, o.Name)
	}
	return strings.Join(names, ",")
}

// lastData returns the data of the newest event of type typ.
func (e *entry) lastData(typ string) map[string]any {
	e.t.Helper()
	evs, err := e.store.Query(gateway.EventFilter{Types: []string{typ}})
	if err != nil || len(evs) == 0 {
		e.t.Fatalf("no %s event (%v)", typ, err)
	}
	var m map[string]any
	json.Unmarshal(evs[len(evs)-1].Data, &m)
	return m
}

func TestAuthorizedEntryAndExit(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	d := e.badge("reader-out", "62E3086CED")
	if !d.Granted || e.strike.Level() != gpio.High {
		t.Fatalf("decision %+v, strike %v", d, e.strike.Level())
	}
	e.clock.Advance(time.Second)
	e.set("door-main", true)
	e.clock.Advance(2 * time.Second)
	e.set("door-main", false)
	e.clock.Advance(5 * time.Second) // the strike's pulse ends
	e.expect("output.on", "access.granted", "door.opened", "access.entered", "door.closed", "output.off")
	if e.inside() != "张伟" || !strings.Contains(string(e.occ.last), `"count":1`) {
		t.Fatalf("inside %q, occupancy %s", e.inside(), e.occ.last)
	}
	g := e.lastData("access.granted")
	if g["card"] != "******6CED" || g["person_name"] != "张伟" || g["direction"] != "in" || g["card_ref"] == nil {
		t.Fatalf("granted data %v", g)
	}
	// Arming refuses while someone is inside.
	if err := e.panel.Arm("p-li"); err == nil || !strings.Contains(err.Error(), "张伟") {
		t.Fatalf("arm with someone inside: %v", err)
	}
	e.news()
	// Out through the inside reader: the last one out.
	e.pass("reader-in", "62E3086CED")
	e.expect("output.on", "access.granted", "door.opened", "access.exited", "access.room_empty", "door.closed")
	if e.inside() != "" {
		t.Fatalf("inside %q", e.inside())
	}
	if err := e.panel.Arm("p-zhang"); err != nil {
		t.Fatalf("arm after the last one left: %v", err)
	}
}

func TestDenials(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	cases := []struct {
		card, reason string
		at           time.Time
	}{
		{"DEADBEEF00", gateway.DenyUnknownCard, t0},
		{"1111111111", gateway.DenyExpired, t0},
		{"2222222222", gateway.DenyNotYetValid, t0},
		{"3333333333", gateway.DenyOutsideSchedule, t0},                                                 // Sunday 08:30
		{"4444444444", gateway.DenyRoomNotAllowed, t0},                                                  //
		{"62E3086CED", gateway.DenyHoliday, time.Date(2027, 1, 1, 10, 0, 0, 0, t0.Location())},          // 元旦
		{"3333333333", gateway.DenyOutsideSchedule, time.Date(2026, 11, 23, 8, 0, 0, 0, t0.Location())}, // Monday, too early
	}
	for _, c := range cases {
		d, err := e.access.Badge("reader-out", c.card, c.at)
		if err != nil || d.Granted || d.Reason != c.reason {
			t.Errorf("%s at %v: %+v %v, want %s", c.card, c.at, d, err, c.reason)
		}
	}
	if e.strike.Level() != gpio.Low {
		t.Fatal("a denial released the strike")
	}
	d, _ := e.access.Badge("reader-out", "3333333333", time.Date(2026, 11, 23, 10, 0, 0, 0, t0.Location()))
	if !d.Granted {
		t.Fatalf("inside the schedule: %+v", d)
	}
}

func TestFiveDenialsRaiseAnAlarm(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	for i := 0; i < 4; i++ {
		e.badge("reader-out", "DEADBEEF00")
	}
	if len(e.alarms()) != 0 {
		t.Fatalf("alarm after 4 denials: %v", e.alarms())
	}
	e.badge("reader-out", "DEADBEEF00")
	a := e.alarm(gateway.AlarmDeniedBurst)
	if a.Device != "reader-out" || !a.Restored() {
		t.Fatalf("alarm %+v", a)
	}
	if err := e.panel.Ack(a.ID, "guard", "同事忘带卡, 已核实"); err != nil {
		t.Fatal(err)
	}
	if len(e.alarms()) != 0 {
		t.Fatal("the denial alarm did not close on ack")
	}
	// A grant in between starts the count again.
	for i := 0; i < 4; i++ {
		e.badge("reader-out", "DEADBEEF00")
	}
	e.badge("reader-out", "62E3086CED")
	e.badge("reader-out", "DEADBEEF00")
	if len(e.alarms()) != 0 {
		t.Fatalf("alarm though a grant broke the run: %v", e.alarms())
	}
}

func TestForcedAndHeldDoor(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	e.set("door-main", true)
	a := e.alarm(gateway.AlarmDoorForced)
	e.set("door-main", false)
	if a = e.alarm(gateway.AlarmDoorForced); !a.Restored() {
		t.Fatal("door forced not restored when the door closed")
	}
	e.panel.Ack(a.ID, "guard", "检查无异常")
	e.news()

	e.badge("reader-out", "62E3086CED")
	e.set("door-main", true)
	e.clock.Advance(15 * time.Second)
	e.expect("output.on", "access.granted", "door.opened", "access.entered", "output.off", "access.door_held_warning")
	if len(e.alarms()) != 0 {
		t.Fatalf("alarm at 15 s: %v", e.alarms())
	}
	e.clock.Advance(15 * time.Second)
	a = e.alarm(gateway.AlarmDoorHeldOpen)
	e.set("door-main", false)
	if a = e.alarm(gateway.AlarmDoorHeldOpen); !a.Restored() {
		t.Fatal("held open not restored when the door closed")
	}

	// Exit button: an exit, attributed to the only one inside.
	e.news()
	e.set("exit-button", true)
	e.set("exit-button", false)
	e.set("door-main", true)
	e.set("door-main", false)
	e.expect("exit.pressed", "output.on", "exit.released", "door.opened", "access.exited", "access.room_empty", "door.closed")
	if d := e.lastData("access.exited"); d["person_id"] != "p-zhang" || d["via"] != "exit_button" {
		t.Fatalf("exit %v", d)
	}
	// Granted but never opened.
	e.badge("reader-out", "62E3086CED")
	e.clock.Advance(6 * time.Second)
	e.expect("output.on", "access.granted", "access.not_opened", "output.off") // the same instant: the grant's time and the strike's pulse
	// A door opened after the grant ran out is forced.
	e.set("door-main", true)
	e.alarm(gateway.AlarmDoorForced)
}

func TestVisitorNeedsEscort(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	req := gateway.VisitRequest{Name: "刘访", IDType: "resident-id", IDNumber: "11010519491231002X", Organization: "某设备厂",
		Purpose: "保密柜维修", Host: "p-li", Escort: "p-zhang", Card: "ABCDEF0001", From: t0, Until: t0.Add(4 * time.Hour), By: "guard-1"}
	v, err := e.access.RegisterVisit(req)
	if err != nil {
		t.Fatal(err)
	}
	if v.IDMasked != "110105********002X" || strings.Contains(v.IDHash, "110105") {
		t.Fatalf("visit %+v", v)
	}
	if d := e.lastData("visitor.registered"); d["id_masked"] != "110105********002X" || d["card"] != "******0001" {
		t.Fatalf("registered event %v", d)
	}
	e.news()
	// Alone: refused.
	if d := e.badge("reader-out", "ABCDEF0001"); d.Granted || d.Reason != gateway.DenyNoEscort {
		t.Fatalf("visitor alone: %+v", d)
	}
	// The escort first, then the visitor within 10 s: one opening for both.
	e.badge("reader-out", "62E3086CED")
	e.clock.Advance(3 * time.Second)
	if d := e.badge("reader-out", "ABCDEF0001"); !d.Granted {
		t.Fatalf("visitor with escort: %+v", d)
	}
	e.set("door-main", true)
	e.set("door-main", false)
	if e.inside() != "张伟,刘访" {
		t.Fatalf("inside %q", e.inside())
	}
	// The escort leaves the visitor behind: alarm.
	e.pass("reader-in", "62E3086CED")
	a := e.alarm(gateway.AlarmUnescorted)
	if a.Device != "p-zhang" {
		t.Fatalf("alarm %+v", a)
	}
	// Checked out at the desk: counted out, the card stops working.
	if _, err := e.access.CheckOut(v.ID, "guard-1"); err != nil {
		t.Fatal(err)
	}
	if e.inside() != "" || !e.alarm(gateway.AlarmUnescorted).Restored() {
		t.Fatalf("after check-out: inside %q, alarms %v", e.inside(), e.alarms())
	}
	if d := e.badge("reader-out", "ABCDEF0001"); d.Granted || d.Reason != gateway.DenyUnknownCard {
		t.Fatalf("card after check-out: %+v", d)
	}
	if _, err := e.access.CheckOut(v.ID, "guard-1"); code(err) != gateway.ECONFLICT {
		t.Fatalf("second check-out: %v", err)
	}
}

func TestVisitRegistrationRefusals(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	base := gateway.VisitRequest{Name: "刘访", IDType: "passport", IDNumber: "E12345678", Organization: "某厂",
		Purpose: "维修", Host: "p-li", Escort: "p-zhang", Card: "ABCDEF0001", From: t0, Until: t0.Add(time.Hour), By: "guard-1"}
	before, _ := e.store.LastSeq()
	for _, c := range []struct {
		name string
		edit func(*gateway.VisitRequest)
		code string
		in   string
	}{
		{"unknown escort", func(r *gateway.VisitRequest) { r.Escort = "p-nobody" }, gateway.ENOTFOUND, "escort"},
		{"unknown host", func(r *gateway.VisitRequest) { r.Host = "p-nobody" }, gateway.ENOTFOUND, "host"},
		{"guard may not escort into a room not allowed", func(r *gateway.VisitRequest) { r.Escort = "p-other" }, gateway.EINVALID, "escort"},
		{"a staff card", func(r *gateway.VisitRequest) { r.Card = "62E3086CED" }, gateway.ECONFLICT, "card"},
		{"bad resident id", func(r *gateway.VisitRequest) { r.IDType = "resident-id"; r.IDNumber = "110105194912310021" }, gateway.EINVALID, "id_number"},
		{"no purpose", func(r *gateway.VisitRequest) { r.Purpose = " " }, gateway.EINVALID, "purpose"},
		{"backwards", func(r *gateway.VisitRequest) { r.Until = r.From }, gateway.EINVALID, "until"},
	} {
		r := base
		c.edit(&r)
		_, err := e.access.RegisterVisit(r)
		if code(err) != c.code || !strings.HasPrefix(err.Error(), c.in) {
			t.Errorf("%s: %v (code %s), want %s on %s", c.name, err, code(err), c.code, c.in)
		}
		if strings.Contains(err.Error(), "110105194912310021") {
			t.Errorf("%s: the ID number is in the error", c.name)
		}
	}
	if after, _ := e.store.LastSeq(); after != before {
		t.Fatal("a refused registration wrote events")
	}
}

func TestTwoPersonRule(t *testing.T) {
	e := newEntry(t, accessWith(func(c *gateway.AccessConfig) { c.TwoPerson = true }))
	if d := e.badge("reader-out", "62E3086CED"); d.Granted || d.Reason != gateway.DenyWaitingSecond {
		t.Fatalf("first: %+v", d)
	}
	if d := e.badge("reader-out", "62E3086CED"); d.Granted {
		t.Fatal("the same person twice opened the door")
	}
	e.clock.Advance(4 * time.Second)
	d := e.badge("reader-out", "04A224E2")
	if !d.Granted || len(d.Pair) != 2 || d.Pair[0] != "p-zhang" || d.Pair[1] != "p-li" {
		t.Fatalf("second: %+v", d)
	}
	e.set("door-main", true)
	e.set("door-main", false)
	if e.inside() != "张伟,李娜" {
		t.Fatalf("inside %q", e.inside())
	}
	// Too far apart: the first waits in vain.
	e.pass("reader-in", "62E3086CED")
	e.pass("reader-in", "04A224E2")
	e.badge("reader-out", "62E3086CED")
	e.clock.Advance(11 * time.Second)
	if d := e.badge("reader-out", "04A224E2"); d.Granted {
		t.Fatalf("11 s apart: %+v", d)
	}
	if len(e.alarms()) != 0 {
		t.Fatalf("waiting counts as a denial: %v", e.alarms())
	}
}

func TestArmedRoomAndAntiPassback(t *testing.T) {
	e := newEntry(t, accessWith(func(c *gateway.AccessConfig) { c.AntiPassback = true }))
	if err := e.panel.Arm("p-zhang"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if d := e.badge("reader-out", "90:324"); d.Granted || d.Reason != gateway.DenyArmedNoRight {
		t.Fatalf("guard at an armed room: %+v", d)
	}
	if d := e.badge("reader-out", "62E3086CED"); !d.Granted {
		t.Fatalf("clerk at an armed room: %+v", d)
	}
	if e.mode() != gateway.ModeOpen {
		t.Fatalf("mode %s after the clerk's badge", e.mode())
	}
	e.set("door-main", true)
	e.set("door-main", false)
	if len(e.alarms()) != 0 {
		t.Fatalf("alarms: %v", e.alarms())
	}
	if d := e.badge("reader-out", "62E3086CED"); d.Granted || d.Reason != gateway.DenyAntiPassback {
		t.Fatalf("passback: %+v", d)
	}
	// Occupancy survives a restart.
	e.crash()
	e.open()
	if e.inside() != "张伟" {
		t.Fatalf("after restart inside %q", e.inside())
	}
}

func TestArmWhenLastOut(t *testing.T) {
	e := newEntry(t, accessWith(func(c *gateway.AccessConfig) { c.ArmWhenEmpty = true }))
	e.pass("reader-out", "62E3086CED")
	e.pass("reader-in", "62E3086CED")
	if e.mode() != gateway.ModeArmed {
		t.Fatalf("mode %s after the last one out", e.mode())
	}
}

func TestMotionWhileEmpty(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	e.set("ir-1", true)
	e.expect("motion.detected", "access.motion_while_empty")
}

// Issue 17, item 5: two people confirm a seal with their badges at the
// room's inside reader, which proves both are there: each presents the card
// twice within 3 s (a deliberate double badge, not only a way out), the
// second person within 10 s of the first. The room then seals as an arming
// does: through the exit delay, sealed only if it is ready when the delay
// ends (both gone, the door shut). An unseal is confirmed the same way at
// the outside reader (nobody is inside a sealed room). A single badge, one
// person twice, or a person whose role may not seal, seals nothing.
func TestSealAndUnsealByTwoBadges(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	zhang, li, wang := "62E3086CED", "04A224E2", "90:324"
	badge := func(reader, card string) {
		t.Helper()
		if _, err := e.room.Badge(reader, card, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	double := func(reader, card string) {
		t.Helper()
		badge(reader, card)
		e.clock.Advance(time.Second)
		badge(reader, card)
	}
	e.pass("reader-out", zhang)
	e.pass("reader-out", li)
	e.news()

	// a guard's double badge: refused, logged, nothing pending
	double("reader-in", wang)
	if e.mode() != gateway.ModeOpen || e.panel.State().Pending != nil {
		t.Fatalf("a guard's double badge: mode %s, pending %+v", e.mode(), e.panel.State().Pending)
	}
	if r := e.lastData("auth.refused"); r["cmd"] != "seal" || r["code"] != "not_allowed" {
		t.Fatalf("the guard's refusal: %v", r)
	}
	// two single badges, one after the other: two ways out, no seal
	e.clock.Advance(20 * time.Second)
	badge("reader-in", zhang)
	e.clock.Advance(4 * time.Second)
	badge("reader-in", li)
	if e.panel.State().Pending != nil {
		t.Fatalf("single badges confirmed a seal: %+v", e.panel.State().Pending)
	}
	// one person's double badge, twice: one confirmation
	e.clock.Advance(20 * time.Second)
	double("reader-in", zhang)
	e.clock.Advance(4 * time.Second)
	double("reader-in", zhang)
	if e.mode() != gateway.ModeOpen {
		t.Fatalf("one person sealed: %s", e.mode())
	}
	// two people, within 10 s: the room seals through the exit delay
	e.clock.Advance(20 * time.Second)
	e.news()
	double("reader-in", zhang)
	e.clock.Advance(3 * time.Second)
	double("reader-in", li)
	st := e.panel.State()
	if st.Mode != gateway.ModeArmed || st.ExitUntil.IsZero() || strings.Join(st.SealOnExit, ",") != "p-zhang,p-li" {
		t.Fatalf("after two double badges: %+v", st)
	}
	if a := e.lastData("mode.arming"); a["seal"] != true {
		t.Fatalf("the arming does not say it seals: %v", a)
	}
	// both go out through the door, which shuts behind them
	e.set("door-main", true)
	e.set("door-main", false)
	if e.inside() != "" {
		t.Fatalf("still inside: %q", e.inside())
	}
	e.clock.Advance(60 * time.Second)
	if st := e.panel.State(); st.Mode != gateway.ModeSealed || strings.Join(st.By, ",") != "p-zhang,p-li" || st.Seal == nil {
		t.Fatalf("after the exit delay: %+v", st)
	}
	news := strings.Join(e.news(), " ")
	if strings.Count(news, "seal.confirmation") != 1 || !strings.Contains(news, "mode.sealed") || strings.Contains(news, "alarm.raised") {
		t.Fatalf("events of the badge seal: %s", news)
	}
	if strings.Count(news, "access.exited") != 2 {
		t.Fatalf("each person leaves once, however often they badged: %s", news)
	}

	// the unseal, at the outside reader: denied entry, but confirmed
	e.clock.Advance(48 * time.Hour)
	double("reader-out", li)
	e.clock.Advance(2 * time.Second)
	double("reader-out", zhang)
	if e.mode() != gateway.ModeOpen {
		t.Fatalf("not unsealed by two badges: %s", e.mode())
	}
	if r := e.lastData("seal.report"); r["verdict"] != gateway.SealIntact {
		t.Fatalf("the seal report: %v", r)
	}
	for _, a := range e.alarms() {
		if a.Class == gateway.AlarmDeniedBurst {
			t.Fatalf("the badges raised %s", a.Class)
		}
	}
	// confirmed by badges, but the door is left open: the exit delay ends
	// in an exit fault, not a seal
	e.pass("reader-out", zhang)
	e.pass("reader-out", li)
	e.clock.Advance(20 * time.Second)
	double("reader-in", zhang)
	double("reader-in", li)
	e.set("door-main", true)
	e.clock.Advance(60 * time.Second)
	if st := e.panel.State(); st.Mode != gateway.ModeOpen || st.SealOnExit != nil || e.alarm(gateway.AlarmExitFault) == nil {
		t.Fatalf("a badge seal with the door open: %+v", st)
	}
}

// Issue 32, item 6 (调休): on a make-up workday, a weekend day worked, a
// person's weekday hours apply; on an ordinary Saturday they do not.
func TestMakeUpWorkday(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	to := func(day int) { // 10:00 on that day of November 2026
		e.clock.Advance(time.Date(2026, 11, day, 10, 0, 0, 0, t0.Location()).Sub(e.clock.Now()))
	}
	to(28) // Saturday, worked
	if d := e.badge("reader-out", "3333333333"); !d.Granted {
		t.Fatalf("孙白 (mon-fri 09:00-17:00) on a make-up Saturday: %+v", d)
	}
	e.pass("reader-in", "3333333333")
	to(29) // Sunday, not worked
	if d := e.badge("reader-out", "3333333333"); d.Granted || d.Reason != gateway.DenyOutsideSchedule {
		t.Fatalf("孙白 on an ordinary Sunday: %+v", d)
	}
}
