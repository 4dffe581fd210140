package room_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/devices/gpiosim"
	"github.com/roomguard/roomguard/devices/relay"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/room"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/schemas"
)

// retained records what the panel publishes retained, as a broker would
// keep it: an empty payload clears the topic.
type retained struct {
	mu      sync.Mutex
	mode    json.RawMessage
	alarms  map[string]json.RawMessage
	reports map[string]json.RawMessage
}

func (r *retained) Mode(p json.RawMessage) { r.mu.Lock(); r.mode = p; r.mu.Unlock() }
func (r *retained) Alarm(id string, p json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p == nil {
		delete(r.alarms, id)
	} else {
		r.alarms[id] = p
	}
}
func (r *retained) SealReport(id string, p json.RawMessage) {
	r.mu.Lock()
	r.reports[id] = p
	r.mu.Unlock()
}

// guarded is the tests' room, built as the gateway builds it, by room.New:
// a door, two windows, an IR detector, safe A (bolt and door), a tamper
// loop, a panic button, an exit button, a siren and a door strike, and
// what its spec adds (entry control's doors and readers, carrier tracking,
// registers).
type guarded struct {
	t      testing.TB
	path   string
	clock  *clocktest.Clock
	spec   spec
	store  *sqlite.Store
	log    *flakyLog // the store, made to refuse writes at will
	room   *room.Room
	engine *room.Engine
	panel  *room.Panel
	access *room.Access
	vault  *room.Vault
	ret    *retained
	states *sink
	occ    *occupancySink
	vsink  *vaultSink
	siren  *gpiosim.Pin
	strike *gpiosim.Pin
	active map[string]bool
	mark   uint64 // events after this seq are "new"
}

// spec is what a test room has beyond the guarded room.
type spec struct {
	access gateway.AccessConfig  // entry control: no doors unless given
	vault  *gateway.VaultConfig  // nil: no carrier tracking
	seed   func(s *sqlite.Store) // the registers, written before the first start
	// drive, when set, wraps each output's relay: a driver that watches
	// how the room calls it.
	drive func(id string, relay gateway.OutputDriver) gateway.OutputDriver
}

var guardedInputs = map[string]gateway.InputKind{
	"door-main": gateway.KindDoor, "window-1": gateway.KindWindow, "window-2": gateway.KindWindow,
	"ir-1": gateway.KindIRDetector, "safe-a-bolt": gateway.KindSafeBolt, "safe-a-door": gateway.KindSafeDoor,
	"tamper-1": gateway.KindTamper, "panic-1": gateway.KindPanic, "smoke-1": gateway.KindSmoke, "leak-1": gateway.KindWater,
	"th-1": gateway.KindClimate,
}

// testSchedule is the test room's working day: it ends at 18:00; New
// Year's days are holidays.
var testSchedule = gateway.WorkSchedule{Location: t0.Location(), End: 18 * time.Hour,
	Holidays: []gateway.Holiday{{Name: "元旦", From: time.Date(2027, 1, 1, 0, 0, 0, 0, t0.Location()), To: time.Date(2027, 1, 3, 0, 0, 0, 0, t0.Location())}},
	Workdays: []time.Time{time.Date(2026, 11, 28, 0, 0, 0, 0, t0.Location())}} // a Saturday worked (调休)

func newGuarded(t testing.TB) *guarded { return openRoom(t, spec{access: config.DefaultAccess()}) }

// openRoom is the one helper the tests build a room with (like a test's
// MustOpenDB): a new log in a temporary directory, the room of sp on it,
// started.
func openRoom(t testing.TB, sp spec) *guarded {
	g := &guarded{t: t, path: filepath.Join(t.TempDir(), "log.db"), clock: clocktest.New(t0), active: map[string]bool{}, spec: sp}
	g.open()
	return g
}

// open (re)starts the room on its log, with the inputs as they are.
func (g *guarded) open() {
	t := g.t
	t.Helper()
	store, err := sqlite.Open(g.path, "jiyao-301", g.clock)
	if err != nil {
		t.Fatal(err)
	}
	g.store = store
	if g.mark == 0 && g.spec.seed != nil {
		g.spec.seed(store)
	}
	g.ret = &retained{alarms: map[string]json.RawMessage{}, reports: map[string]json.RawMessage{}}
	g.states, g.occ, g.vsink = &sink{}, &occupancySink{}, &vaultSink{states: map[string][]byte{}}
	g.log = &flakyLog{Store: store}
	cfg := room.Config{ID: "jiyao-301", Panel: gateway.DefaultPanelConfig(), Access: g.spec.access, Vault: g.spec.vault,
		Safes:    []gateway.SafeConfig{{ID: "safe-a", Name: "保密柜A", Bolt: "safe-a-bolt", Door: "safe-a-door", OpenReminder: 10 * time.Minute}},
		Schedule: testSchedule, Inventory: -1, Key: gateway.Keyed("test key")}
	g.room = room.New(cfg, g.log, g.clock, &testSink{g.states, g.ret, g.occ, g.vsink}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.engine, g.panel, g.access, g.vault = g.room.Engine, g.room.Panel, g.room.Access, g.room.Vault
	for id, k := range guardedInputs {
		g.room.AddInput(gateway.Input{ID: id, Kind: k}, g.active[id])
	}
	g.room.AddInput(gateway.Input{ID: "exit-button", Kind: gateway.KindExitButton, Strike: "strike"}, false)
	g.siren, g.strike = gpiosim.New("GPIO24"), gpiosim.New("GPIO23")
	for _, o := range []struct {
		id    string
		kind  gateway.OutputKind
		pin   *gpiosim.Pin
		pulse time.Duration
	}{{"siren", gateway.KindSiren, g.siren, 0}, {"strike", gateway.KindDoorStrike, g.strike, 5 * time.Second}} {
		drv, err := relay.New(o.pin, &relay.Opts{ActiveLevel: gpio.High, AfterFunc: g.clock.AfterFunc})
		if err != nil {
			t.Fatal(err)
		}
		var driver gateway.OutputDriver = drv
		if g.spec.drive != nil {
			driver = g.spec.drive(o.id, drv)
		}
		g.room.AddOutput(gateway.Output{ID: o.id, Kind: o.kind, Pulse: o.pulse, Driver: driver})
	}
	if err := g.room.Start("test", true); err != nil {
		t.Fatal(err)
	}
	if g.mark == 0 { // a restart's own events are still news
		g.mark, _ = store.LastSeq()
	}
}

// testSink is everything a test room publishes, kept as a broker would.
type testSink struct {
	*sink
	*retained
	*occupancySink
	*vaultSink
}

// flakyLog is the room's log that refuses every write while fail is set, as
// a full disk or a failing card would.
type flakyLog struct {
	*sqlite.Store
	fail atomic.Bool

	mu      sync.Mutex
	changes []*gateway.Change // every change written, in order
}

// written returns the changes written since the last call.
func (l *flakyLog) written() []*gateway.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.changes
	l.changes = nil
	return out
}

var errDiskFull = errors.New("sqlite: database or disk is full")

func (l *flakyLog) SaveChange(c *gateway.Change) ([]gateway.Event, error) {
	if l.fail.Load() {
		return nil, errDiskFull
	}
	l.mu.Lock()
	l.changes = append(l.changes, c)
	l.mu.Unlock()
	return l.Store.SaveChange(c)
}

func (g *guarded) crash() {
	g.room.StopTimers()
	if err := g.store.Close(); err != nil {
		g.t.Fatal(err)
	}
}

func (g *guarded) set(device string, active bool) {
	g.t.Helper()
	g.active[device] = active
	if err := g.engine.InputChanged(device, active, g.clock.Now()); err != nil {
		g.t.Fatal(err)
	}
}

// logged returns the events after seq, each checked against the event
// schema.
func (g *guarded) logged(after uint64) []gateway.Event {
	g.t.Helper()
	evs, err := g.store.Query(gateway.EventFilter{AfterSeq: after})
	if err != nil {
		g.t.Fatal(err)
	}
	for _, e := range evs {
		b, _ := json.Marshal(e)
		if err := schemas.ValidateJSON("event", b); err != nil {
			g.t.Errorf("event %d %s: %v\n%s", e.Seq, e.Type, err, b)
		}
	}
	return evs
}

// news returns the types of the events since the last call.
func (g *guarded) news() []string {
	g.t.Helper()
	var out []string
	for _, e := range g.logged(g.mark) {
		out = append(out, e.Type)
		g.mark = e.Seq
	}
	return out
}

func (g *guarded) expect(want ...string) {
	g.t.Helper()
	got := strings.Join(g.news(), " ")
	if got != strings.Join(want, " ") {
		g.t.Fatalf("events %q, want %q", got, strings.Join(want, " "))
	}
}

func (g *guarded) mode() gateway.Mode { return g.panel.State().Mode }

func (g *guarded) alarms() []*gateway.Alarm { return g.panel.State().Alarms }

func (g *guarded) alarm(class gateway.AlarmClass) *gateway.Alarm {
	for _, a := range g.alarms() {
		if a.Class == class {
			return a
		}
	}
	g.t.Fatalf("no open %s alarm in %v", class, g.alarms())
	return nil
}

func code(err error) string { return gateway.ErrorCode(err) }

func TestArmingAndDisarming(t *testing.T) {
	g := newGuarded(t)
	if err := g.panel.Arm("li.ming"); err != nil {
		t.Fatal(err)
	}
	g.expect("mode.arming")
	if g.mode() != gateway.ModeArmed || g.panel.State().ExitUntil.IsZero() {
		t.Fatalf("state after arm: %+v", g.panel.State())
	}
	g.set("door-main", true) // leaving through the door during the exit delay
	g.set("door-main", false)
	g.expect("door.opened", "door.closed")
	g.clock.Advance(60 * time.Second)
	g.expect("mode.armed")
	if err := g.panel.Arm("li.ming"); code(err) != gateway.ECONFLICT {
		t.Fatalf("arming twice: %v", err)
	}
	if err := g.panel.Disarm("wang.fang"); err != nil {
		t.Fatal(err)
	}
	g.expect("mode.disarmed")
	if err := g.panel.Disarm("wang.fang"); code(err) != gateway.ECONFLICT {
		t.Fatalf("disarming an open room: %v", err)
	}
	if err := g.panel.Arm(" "); code(err) != gateway.EINVALID {
		t.Fatalf("arm without a person: %v", err)
	}
	if !strings.Contains(string(g.ret.mode), `"mode":"open"`) {
		t.Fatalf("retained mode %s", g.ret.mode)
	}
}

func TestArmingRefusedListsEveryReason(t *testing.T) {
	g := newGuarded(t)
	g.set("door-main", true)
	g.set("window-2", true)
	g.set("safe-a-bolt", true)
	g.news()
	err := g.panel.Arm("li.ming")
	var ref *gateway.RefusedError
	if !errors.As(err, &ref) {
		t.Fatalf("arm with an open door: %v", err)
	}
	var devs []string
	for _, r := range ref.Reasons {
		devs = append(devs, r.Code+":"+r.Device)
	}
	sort.Strings(devs)
	if strings.Join(devs, " ") != "open:door-main open:window-2 safe-unlocked:safe-a-bolt" {
		t.Fatalf("reasons %v", devs)
	}
	g.expect("arming.refused")
	if g.mode() != gateway.ModeOpen {
		t.Fatal("a refused arming changed the mode")
	}

	// A bypass of the window, with its reason, lasts for one arming.
	g.set("door-main", false)
	g.set("safe-a-bolt", false)
	g.news()
	if err := g.panel.SetBypass("li.ming", "", []string{"window-2"}); code(err) != gateway.EINVALID {
		t.Fatalf("bypass without a reason: %v", err)
	}
	if err := g.panel.SetBypass("li.ming", "latch broken, repair ordered", []string{"tamper-1"}); code(err) != gateway.EINVALID {
		t.Fatalf("bypass of a 24-hour zone: %v", err)
	}
	if err := g.panel.SetBypass("li.ming", "latch broken, repair ordered", []string{"window-2"}); err != nil {
		t.Fatal(err)
	}
	if err := g.panel.Arm("li.ming"); err != nil {
		t.Fatal(err)
	}
	g.expect("arming.bypass", "mode.arming")
	g.clock.Advance(time.Minute)
	g.set("window-2", false)
	g.set("window-2", true) // bypassed: no alarm
	g.expect("mode.armed", "window.closed", "window.opened")
	if len(g.alarms()) != 0 {
		t.Fatalf("alarms on a bypassed window: %v", g.alarms())
	}
	g.panel.Disarm("li.ming")
	g.news()
	if err := g.panel.Arm("li.ming"); !errors.As(err, &ref) {
		t.Fatalf("the bypass outlived its arming: %v", err)
	}
}

func TestIntrusionWhileArmed(t *testing.T) {
	cases := []struct {
		name  string
		drive func(g *guarded)
		class gateway.AlarmClass
	}{
		{"window", func(g *guarded) { g.set("window-1", true) }, gateway.AlarmIntrusion},
		{"motion without entry", func(g *guarded) { g.set("ir-1", true) }, gateway.AlarmIntrusion},
		{"door, entry delay runs out", func(g *guarded) {
			g.set("door-main", true)
			g.clock.Advance(29 * time.Second)
			if len(g.alarms()) != 0 {
				g.t.Fatal("alarm before the entry delay ended")
			}
			g.clock.Advance(time.Second)
		}, gateway.AlarmIntrusion},
		{"safe", func(g *guarded) { g.set("safe-a-door", true) }, gateway.AlarmSafeOpened},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newGuarded(t)
			g.panel.Arm("li.ming")
			g.clock.Advance(time.Minute)
			g.news()
			c.drive(g)
			a := g.alarm(c.class)
			if g.siren.Level() != gpio.High {
				t.Fatal("siren silent on an intrusion")
			}
			if _, ok := g.ret.alarms[a.ID]; !ok {
				t.Fatalf("alarm %s not retained", a.ID)
			}
		})
	}
	t.Run("door, disarmed in time", func(t *testing.T) {
		g := newGuarded(t)
		g.panel.Arm("li.ming")
		g.clock.Advance(time.Minute)
		g.set("door-main", true)
		g.set("ir-1", true) // walking to the keypad
		g.clock.Advance(20 * time.Second)
		if err := g.panel.Disarm("li.ming"); err != nil {
			t.Fatal(err)
		}
		g.clock.Advance(time.Minute)
		if len(g.alarms()) != 0 {
			t.Fatalf("alarms after a timely disarm: %v", g.alarms())
		}
	})
}

func TestAlarmLifecycle(t *testing.T) {
	g := newGuarded(t)
	g.set("tamper-1", true) // 24-hour zone: alarms while open
	a := g.alarm(gateway.AlarmTamper)
	g.expect("tamper.active", "alarm.raised", "output.on")
	g.set("tamper-1", false)
	g.set("tamper-1", true) // the same condition again counts on the open alarm
	if n := len(g.alarms()); n != 1 || g.alarms()[0].Count != 2 {
		t.Fatalf("alarms %+v", g.alarms())
	}
	g.expect("tamper.restored", "alarm.restored", "tamper.active", "alarm.repeated")

	for _, bad := range []struct{ id, by, comment, code string }{
		{a.ID, "zhao.lei", "", gateway.EINVALID},
		{a.ID, "", "checked", gateway.EINVALID},
		{"jiyao-301-99", "zhao.lei", "checked", gateway.ENOTFOUND},
	} {
		if err := g.panel.Ack(bad.id, bad.by, bad.comment); code(err) != bad.code {
			t.Fatalf("ack(%q, %q, %q): %v, want %s", bad.id, bad.by, bad.comment, err, bad.code)
		}
	}
	g.expect() // bad acks log nothing

	if err := g.panel.Ack(a.ID, "zhao.lei", "cover screw loose, refitted"); err != nil {
		t.Fatal(err)
	}
	if st := g.alarm(gateway.AlarmTamper).State(); st != "acknowledged" {
		t.Fatalf("state %s after ack of an active condition", st)
	}
	if g.siren.Level() != gpio.Low {
		t.Fatal("siren still on after every audible alarm was acknowledged")
	}
	if err := g.panel.Ack(a.ID, "zhao.lei", "again"); code(err) != gateway.ECONFLICT {
		t.Fatalf("second ack: %v", err)
	}
	g.set("tamper-1", false)
	g.expect("alarm.acknowledged", "output.off", "tamper.restored", "alarm.restored", "alarm.closed")
	if len(g.alarms()) != 0 || len(g.ret.alarms) != 0 {
		t.Fatalf("closed alarm still open or retained: %v %v", g.alarms(), g.ret.alarms)
	}

	// Restored first, acknowledged later: closes at the ack.
	g.set("panic-1", true)
	g.set("panic-1", false)
	p := g.alarm(gateway.AlarmPanic)
	if p.State() != "restored" {
		t.Fatalf("state %s", p.State())
	}
	g.panel.Ack(p.ID, "zhao.lei", "pressed by mistake, confirmed by phone")
	if len(g.alarms()) != 0 {
		t.Fatal("restored + acknowledged alarm did not close")
	}
}

func TestEscalationAndSirenCutoff(t *testing.T) {
	g := newGuarded(t)
	g.set("panic-1", true)
	g.news()
	for i, want := range []int{1, 2, 3, 3} {
		g.clock.Advance(time.Minute)
		if lvl := g.alarm(gateway.AlarmPanic).Level; lvl != want {
			t.Fatalf("after %d min: level %d, want %d", i+1, lvl, want)
		}
	}
	g.expect("alarm.escalated", "alarm.escalated", "alarm.escalated")
	if !strings.Contains(string(g.ret.alarms[g.alarm(gateway.AlarmPanic).ID]), `"level":3`) {
		t.Fatalf("escalation not re-published: %s", g.ret.alarms[g.alarm(gateway.AlarmPanic).ID])
	}
	g.clock.Advance(6 * time.Minute) // 10 min after the raise
	if g.siren.Level() != gpio.Low {
		t.Fatal("siren still on after the cut-off")
	}
	g.expect("siren.cutoff", "output.off")
	if g.alarm(gateway.AlarmPanic).State() != "active" {
		t.Fatal("the cut-off changed the alarm")
	}
}

func TestDuressIsSilent(t *testing.T) {
	g := newGuarded(t)
	id, err := g.panel.Raise(gateway.AlarmDuress, "reader-outside", "duress code")
	if err != nil {
		t.Fatal(err)
	}
	if g.siren.Level() != gpio.Low {
		t.Fatal("a duress alarm sounded the siren")
	}
	if !strings.Contains(string(g.ret.alarms[id]), `"silent":true`) {
		t.Fatalf("retained %s", g.ret.alarms[id])
	}
	if _, err := g.panel.Raise("nonsense", "", ""); code(err) != gateway.EINVALID {
		t.Fatalf("unknown class: %v", err)
	}
}

func TestHolidaySeal(t *testing.T) {
	g := newGuarded(t)
	step, err := g.panel.Seal("li.ming")
	if err != nil || step.Done || step.Waiting != "li.ming" {
		t.Fatalf("first confirmation: %+v %v", step, err)
	}
	if _, err := g.panel.Seal("li.ming"); code(err) != gateway.ESAMEPERSON {
		t.Fatalf("the same person twice: %v", err)
	}
	g.clock.Advance(11 * time.Second) // the window passes
	if step, _ := g.panel.Seal("wang.fang"); step.Done {
		t.Fatal("sealed with a confirmation older than 10 s")
	}
	if step, err := g.panel.Seal("li.ming"); err != nil || !step.Done {
		t.Fatalf("second person: %+v %v", step, err)
	}
	g.expect("seal.confirmation", "seal.confirmation", "mode.sealed")
	if g.mode() != gateway.ModeSealed {
		t.Fatal("not sealed")
	}
	if err := g.panel.Disarm("li.ming"); code(err) != gateway.ECONFLICT {
		t.Fatalf("disarm of a sealed room: %v", err)
	}

	g.clock.Advance(48 * time.Hour)
	g.set("window-1", true)
	broken := g.alarm(gateway.AlarmSealBroken)
	if spec, _ := broken.Class.Spec(); spec.Priority != 1 {
		t.Fatal("seal broken is not top priority")
	}
	g.set("window-1", false)
	g.panel.Ack(broken.ID, "zhao.lei", "window found open, cleaner; closed and checked")
	g.news()

	g.panel.Unseal("wang.fang")
	step, err = g.panel.Unseal("li.ming")
	if err != nil || !step.Done || step.Report == nil {
		t.Fatalf("unseal: %+v %v", step, err)
	}
	r := step.Report
	if r.Verdict != "broken" || len(r.SealedBy) != 2 || len(r.UnsealedBy) != 2 || len(r.SealSnapshot) == 0 {
		t.Fatalf("report %+v", r)
	}
	// the report cites the log's head when it was made: the last event of
	// the seal is the one that hashes to it (issue 18, item 5)
	if last := r.Events[len(r.Events)-1]; r.Chain == nil || r.Chain.Through != last.Seq || len(r.Chain.Head) != 64 {
		t.Fatalf("report's chain %+v, last event of the seal %d", r.Chain, last.Seq)
	}
	v := &gateway.ChainVerifier{Room: r.Room, Through: r.Chain.Head}
	if brk, err := g.store.VerifyChainWith(v, 1, 0); err != nil || brk != nil || !v.Passed {
		t.Fatalf("log verify --checkpoint %s: passed %v, %v %v", r.Chain.Head, v.Passed, brk, err)
	}
	found := false
	for _, e := range r.Events {
		if e.Type == "window.opened" && e.Device == "window-1" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the window event is not in the report: %v", r.Events)
	}
	stored, err := g.store.SealReport(r.SealID)
	if err != nil || stored.Verdict != "broken" {
		t.Fatalf("stored report: %v %v", stored, err)
	}
	if _, ok := g.ret.reports[r.SealID]; !ok {
		t.Fatal("report not published")
	}
	if g.mode() != gateway.ModeOpen {
		t.Fatal("not open after unsealing")
	}
}

func TestIntactSealAndPreconditions(t *testing.T) {
	g := newGuarded(t)
	g.set("window-1", true)
	if _, err := g.panel.Seal("li.ming"); err == nil {
		t.Fatal("sealing with an open window was accepted")
	}
	g.set("window-1", false)
	g.panel.Seal("li.ming")
	g.panel.Seal("wang.fang")
	g.clock.Advance(72 * time.Hour)
	g.panel.Unseal("li.ming")
	step, err := g.panel.Unseal("wang.fang")
	if err != nil || step.Report.Verdict != "intact" {
		t.Fatalf("unseal: %+v %v", step, err)
	}
}

func TestRestartKeepsModeAndAlarms(t *testing.T) {
	g := newGuarded(t)
	g.panel.Arm("li.ming")
	g.clock.Advance(time.Minute)
	g.set("window-1", true)
	id := g.alarm(gateway.AlarmIntrusion).ID
	g.crash()
	g.clock.Advance(10 * time.Minute)
	g.open()
	if g.mode() != gateway.ModeArmed {
		t.Fatalf("mode %s after a restart while armed", g.mode())
	}
	if g.alarm(gateway.AlarmIntrusion).ID != id {
		t.Fatal("the open alarm was lost across the restart")
	}
	if _, ok := g.ret.alarms[id]; !ok {
		t.Fatal("the open alarm is not re-published after the restart")
	}
	evs, _ := g.store.Query(gateway.EventFilter{Types: []string{"gateway.restarted"}})
	if len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"downtime_s":600`) {
		t.Fatalf("gateway.restarted: %v", evs)
	}
}

func TestEndOfDayChecks(t *testing.T) {
	g := newGuarded(t)
	cst := t0.Location()
	g.panel.SetSchedule(gateway.WorkSchedule{End: 18 * time.Hour, Location: cst, Holidays: []gateway.Holiday{
		{Name: "元旦", From: time.Date(2026, 11, 24, 0, 0, 0, 0, cst), To: time.Date(2026, 11, 24, 0, 0, 0, 0, cst)}}})
	g.set("window-1", true)
	g.news()
	g.clock.Advance(9*time.Hour + 30*time.Minute) // t0 is 08:30: now 18:00
	evs, _ := g.store.Query(gateway.EventFilter{Types: []string{"room.not_secured"}})
	if len(evs) != 1 || !strings.Contains(string(evs[0].Data), "window-1") {
		t.Fatalf("not secured: %v", evs)
	}
	g.expect("room.not_secured")
	g.set("window-1", false)
	g.panel.Arm("li.ming")
	g.clock.Advance(24 * time.Hour) // 23 Nov 18:00, the eve of the holiday, armed but not sealed
	g.expect("window.closed", "mode.arming", "mode.armed", "seal.missing")
}
