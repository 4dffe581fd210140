package room_test

import (
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

// The rules of issue 16, each first written as a test that failed.

// reasons returns "code:device" of every reason a refusal gave.
func reasons(t *testing.T, err error) []string {
	t.Helper()
	var ref *gateway.RefusedError
	if !errors.As(err, &ref) {
		t.Fatalf("not a refusal: %v", err)
	}
	var out []string
	for _, r := range ref.Reasons {
		out = append(out, r.Code+":"+r.Device)
	}
	slices.Sort(out)
	return out
}

// The exit delay ends with a second look: a door left open with motion
// behind it is an exit fault, and the room does not arm.
func TestExitDelayEndsWithASecondLook(t *testing.T) {
	g := newGuarded(t)
	if err := g.panel.Arm("li.ming"); err != nil {
		t.Fatal(err)
	}
	g.set("door-main", true)
	g.set("ir-1", true)
	g.news()
	g.clock.Advance(60 * time.Second)
	if g.mode() != gateway.ModeOpen {
		t.Fatalf("mode %s after the exit delay with the door open", g.mode())
	}
	a := g.alarm(gateway.AlarmExitFault)
	for _, dev := range []string{"door-main", "ir-1"} {
		if !strings.Contains(a.Detail, dev) {
			t.Errorf("exit fault %q does not name %s", a.Detail, dev)
		}
	}
	if _, ok := g.ret.alarms[a.ID]; !ok {
		t.Fatal("the exit fault is not retained")
	}
	news := strings.Join(g.news(), " ")
	if !strings.Contains(news, "mode.exit_fault") || strings.Contains(news, "mode.armed") {
		t.Fatalf("events after the exit delay: %s", news)
	}
	// The siren chirps to tell the person leaving, then stops on its own.
	if !strings.Contains(news, "output.on") {
		t.Fatalf("no chirp: %s", news)
	}
	g.clock.Advance(5 * time.Second)
	if g.siren.Level() != gpio.Low {
		t.Fatal("the chirp did not end")
	}
	if strings.Join(g.news(), " ") != "output.off" {
		t.Fatal("the chirp's end was not logged")
	}

	// Closed again, the room arms and stays armed.
	g.set("door-main", false)
	g.set("ir-1", false)
	if err := g.panel.Ack(a.ID, "zhao.lei", "door left ajar, closed"); err != nil {
		t.Fatal(err)
	}
	if err := g.panel.Arm("li.ming"); err != nil {
		t.Fatal(err)
	}
	g.clock.Advance(60 * time.Second)
	if g.mode() != gateway.ModeArmed || !g.panel.State().ExitUntil.IsZero() {
		t.Fatalf("state %+v", g.panel.State())
	}
}

// A point bypassed for the arming is not looked at when the exit delay ends.
func TestExitDelaySecondLookHonoursTheBypass(t *testing.T) {
	g := newGuarded(t)
	if err := g.panel.SetBypass("li.ming", "latch broken", []string{"window-2"}); err != nil {
		t.Fatal(err)
	}
	if err := g.panel.Arm("li.ming"); err != nil {
		t.Fatal(err)
	}
	g.set("window-2", true) // bypassed
	g.clock.Advance(60 * time.Second)
	if g.mode() != gateway.ModeArmed {
		t.Fatalf("mode %s: the bypassed window stopped the arming", g.mode())
	}
}

// A cut supervised line or an active panic input refuses arming and
// sealing, whether it is an input now or an alarm still open.
func TestArmingRefusedByTamperPanicAndFaults(t *testing.T) {
	g := newGuarded(t)
	g.set("panic-1", true)
	if got := reasons(t, g.panel.Arm("li.ming")); !slices.Contains(got, "panic:panic-1") {
		t.Fatalf("arm with an active panic input: %v", got)
	}
	g.set("panic-1", false)
	// The panic alarm is restored but not acknowledged: still open.
	if got := reasons(t, g.panel.Arm("li.ming")); !slices.Contains(got, "panic:panic-1") {
		t.Fatalf("arm with the panic alarm open: %v", got)
	}
	if err := g.panel.Ack(g.alarm(gateway.AlarmPanic).ID, "zhao.lei", "pressed by mistake"); err != nil {
		t.Fatal(err)
	}

	// A board's zone cut: a tamper alarm with no input behind it.
	if _, err := g.panel.Raise(gateway.AlarmTamper, "window-north", "tamper-cut"); err != nil {
		t.Fatal(err)
	}
	if got := reasons(t, g.panel.Arm("li.ming")); !slices.Contains(got, "tamper:window-north") {
		t.Fatalf("arm with a cut zone: %v", got)
	}
	if got := reasons(t, sealErr(g)); !slices.Contains(got, "tamper:window-north") {
		t.Fatalf("seal with a cut zone: %v", got)
	}
	if err := g.panel.Restore(gateway.AlarmTamper, "window-north"); err != nil {
		t.Fatal(err)
	}
	if got := reasons(t, g.panel.Arm("li.ming")); !slices.Contains(got, "tamper:window-north") {
		t.Fatalf("arm with the cut zone's alarm unacknowledged: %v", got)
	}
	if err := g.panel.Ack(g.alarm(gateway.AlarmTamper).ID, "zhao.lei", "wire repaired"); err != nil {
		t.Fatal(err)
	}

	// A jammed lock, a silent board, motion: each refuses.
	if _, err := g.panel.Raise(gateway.AlarmDeviceFault, "lock-a", "jammed"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.panel.Raise(gateway.AlarmBoardSilent, "board-1", "silent"); err != nil {
		t.Fatal(err)
	}
	g.set("ir-1", true)
	got := reasons(t, g.panel.Arm("li.ming"))
	for _, want := range []string{"fault:lock-a", "fault:board-1", "motion:ir-1"} {
		if !slices.Contains(got, want) {
			t.Errorf("arm: reasons %v lack %s", got, want)
		}
	}

	// A tamper cannot be bypassed away, even when the bypass names its device.
	g.set("ir-1", false)
	if err := g.panel.SetBypass("li.ming", "test", []string{"tamper-1"}); gateway.ErrorCode(err) != gateway.EINVALID {
		t.Fatalf("bypass of a tamper: %v", err)
	}
}

// sealErr is the error of a two-person seal attempt.
func sealErr(g *guarded) error {
	if _, err := g.panel.Seal("li.ming"); err != nil {
		return err
	}
	_, err := g.panel.Seal("wang.fang")
	return err
}

// seal seals the room with two people.
func (g *guarded) seal() {
	g.t.Helper()
	if err := sealErr(g); err != nil {
		g.t.Fatal(err)
	}
	if g.mode() != gateway.ModeSealed {
		g.t.Fatalf("mode %s after sealing", g.mode())
	}
}

// unseal unseals the room with two people and returns the report.
func (g *guarded) unseal() *gateway.SealReport {
	g.t.Helper()
	if _, err := g.panel.Unseal("wang.fang"); err != nil {
		g.t.Fatal(err)
	}
	step, err := g.panel.Unseal("li.ming")
	if err != nil || step.Report == nil {
		g.t.Fatalf("unseal: %+v %v", step, err)
	}
	return step.Report
}

// ackAll acknowledges every open alarm.
func (g *guarded) ackAll() {
	g.t.Helper()
	for _, a := range g.alarms() {
		if !a.Acknowledged() {
			if err := g.panel.Ack(a.ID, "zhao.lei", "checked on site"); err != nil {
				g.t.Fatal(err)
			}
		}
	}
}

func causesName(r *gateway.SealReport, words ...string) bool {
	all := strings.Join(r.Causes, "\n")
	for _, w := range words {
		if !strings.Contains(all, w) {
			return false
		}
	}
	return true
}

// The seal verdict is intact only when nothing at all happened.
func TestSealVerdict(t *testing.T) {
	t.Run("intact", func(t *testing.T) {
		g := newGuarded(t)
		g.seal()
		g.clock.Advance(72 * time.Hour)
		r := g.unseal()
		if r.Verdict != "intact" || len(r.Causes) != 0 {
			t.Fatalf("verdict %s, causes %v", r.Verdict, r.Causes)
		}
	})
	t.Run("motion", func(t *testing.T) {
		g := newGuarded(t)
		g.seal()
		g.clock.Advance(time.Hour)
		g.set("ir-1", true)
		g.set("ir-1", false)
		g.ackAll()
		r := g.unseal()
		if r.Verdict != "broken" || !causesName(r, "ir-1", "intrusion") {
			t.Fatalf("verdict %s, causes %v", r.Verdict, r.Causes)
		}
	})
	t.Run("tamper", func(t *testing.T) {
		g := newGuarded(t)
		g.seal()
		g.clock.Advance(time.Hour)
		g.set("tamper-1", true)
		g.set("tamper-1", false)
		g.ackAll()
		r := g.unseal()
		if r.Verdict != "broken" || !causesName(r, "tamper-1", "tamper") {
			t.Fatalf("verdict %s, causes %v", r.Verdict, r.Causes)
		}
	})
	t.Run("motion and tamper", func(t *testing.T) {
		g := newGuarded(t)
		g.seal()
		g.set("ir-1", true)
		g.set("tamper-1", true)
		g.set("ir-1", false)
		g.set("tamper-1", false)
		g.ackAll()
		r := g.unseal()
		if r.Verdict != "broken" || !causesName(r, "ir-1", "tamper-1") {
			t.Fatalf("verdict %s, causes %v", r.Verdict, r.Causes)
		}
	})
	t.Run("an alarm of another class", func(t *testing.T) {
		g := newGuarded(t)
		g.seal()
		if _, err := g.panel.Raise(gateway.AlarmBoardSilent, "board-1", "silent"); err != nil {
			t.Fatal(err)
		}
		if err := g.panel.Restore(gateway.AlarmBoardSilent, "board-1"); err != nil {
			t.Fatal(err)
		}
		g.ackAll()
		r := g.unseal()
		if r.Verdict != "broken" || !causesName(r, "board-silent") {
			t.Fatalf("verdict %s, causes %v", r.Verdict, r.Causes)
		}
	})
	t.Run("gateway down", func(t *testing.T) {
		g := newGuarded(t)
		g.seal()
		g.clock.Advance(time.Hour)
		g.crash()
		g.clock.Advance(3 * time.Hour)
		g.open()
		r := g.unseal()
		if r.Verdict != "unverified" || len(r.Downtime) != 1 {
			t.Fatalf("verdict %s, downtime %v, causes %v", r.Verdict, r.Downtime, r.Causes)
		}
		d := r.Downtime[0]
		if d.From != t0.Format(gateway.TimeFormat) { // its last sign of life: the seal, its last event
			t.Errorf("downtime from %s", d.From)
		}
		if d.To != t0.Add(4*time.Hour).Format(gateway.TimeFormat) {
			t.Errorf("downtime to %s, want %s", d.To, t0.Add(4*time.Hour).Format(gateway.TimeFormat))
		}
	})
	t.Run("gateway down and a window opened", func(t *testing.T) {
		g := newGuarded(t)
		g.seal()
		g.crash()
		g.active["window-1"] = true // opened while the gateway was down
		g.clock.Advance(time.Hour)
		g.open()
		g.set("window-1", false)
		g.ackAll()
		r := g.unseal()
		if r.Verdict != "broken" || !causesName(r, "window-1") || len(r.Downtime) != 1 {
			t.Fatalf("verdict %s, downtime %v, causes %v", r.Verdict, r.Downtime, r.Causes)
		}
	})
	t.Run("an event missing from the log", func(t *testing.T) {
		g := newGuarded(t)
		g.seal()
		g.set("window-1", true) // an opening, then its events vanish from the log
		g.set("window-1", false)
		g.ackAll()
		g.crash()
		deleteEvents(t, g.path, "window.opened")
		g.open()
		r := g.unseal()
		if r.Verdict != "broken" || !causesName(r, "missing") {
			t.Fatalf("verdict %s, causes %v", r.Verdict, r.Causes)
		}
	})
}

// Two people are two persons, not two strings.
func TestTwoPersonActsCompareIdentities(t *testing.T) {
	g := newGuarded(t)
	if _, err := g.panel.Seal("x"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.panel.Seal("X "); gateway.ErrorCode(err) != gateway.ESAMEPERSON {
		t.Fatalf("seal by x then \"X \": %v", err)
	}
	if g.mode() != gateway.ModeOpen {
		t.Fatal("sealed by one person")
	}
	if _, err := g.panel.Seal(" wang.fang"); err != nil {
		t.Fatal(err)
	}
	if g.mode() != gateway.ModeSealed {
		t.Fatal("not sealed by two people")
	}
	if _, err := g.panel.Unseal("Wang.Fang"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.panel.Unseal("wang.fang "); gateway.ErrorCode(err) != gateway.ESAMEPERSON {
		t.Fatalf("unseal by the same person twice: %v", err)
	}
	if !gateway.SamePerson("Li.Ming ", "li.ming") || gateway.SamePerson("li.ming", "li.min") {
		t.Fatal("SamePerson")
	}
}

// deleteEvents deletes the events of type typ from the log file at path as
// someone with the file would: the append-only trigger dropped and put back.
func deleteEvents(t *testing.T, path, typ string) {
	t.Helper()
	db, err := sql.Open("sqlite3", sqlite.FileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var trigger string
	if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'events_no_delete'`).Scan(&trigger); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER events_no_delete`, `DELETE FROM events WHERE type = '` + typ + `'`, trigger} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// No error is dropped: an alarm whose commit fails is not lost. The caller
// gets the error, a critical gateway-fault alarm naming the lost alarm is
// published at once, and it is logged as soon as the log takes writes again.
func TestFailedCommitRaisesAGatewayFault(t *testing.T) {
	g := newGuarded(t)
	g.log.fail.Store(true)
	g.active["tamper-1"] = true
	if err := g.engine.InputChanged("tamper-1", true, g.clock.Now()); err == nil {
		t.Fatal("an input change that could not be logged returned no error")
	}
	held, ok := g.ret.alarms["jiyao-301-gateway-fault"]
	if !ok {
		t.Fatalf("no gateway fault published; retained %v", g.ret.alarms)
	}
	for _, want := range []string{`"class":"gateway-fault"`, "disk is full", "tamper on tamper-1"} {
		if !strings.Contains(string(held), want) {
			t.Errorf("the held fault %s does not say %s", held, want)
		}
	}
	g.clock.Advance(time.Second) // still failing: still held
	if _, ok := g.ret.alarms["jiyao-301-gateway-fault"]; !ok {
		t.Fatal("the held fault was dropped while the log still fails")
	}

	g.log.fail.Store(false)
	g.clock.Advance(time.Second)
	if _, ok := g.ret.alarms["jiyao-301-gateway-fault"]; ok {
		t.Fatal("the held fault is still retained after it was logged")
	}
	a := g.alarm(gateway.AlarmGatewayFault)
	if spec, _ := a.Class.Spec(); spec.Severity != gateway.SeverityCritical || !strings.Contains(a.Detail, "tamper on tamper-1") {
		t.Fatalf("logged fault %+v", a)
	}
	if _, ok := g.ret.alarms[a.ID]; !ok {
		t.Fatal("the logged fault is not retained")
	}
	// The tamper it could not write is written now too (issue 27).
	evs, err := g.store.Query(gateway.EventFilter{Types: []string{"alarm.raised"}})
	if err != nil || len(evs) != 2 || !strings.Contains(string(evs[0].Data), "gateway-fault") || !strings.Contains(string(evs[1].Data), `"class":"tamper"`) {
		t.Fatalf("alarm.raised events %v (%v)", evs, err)
	}
	// An ack closes it: the log works again, so it was raised restored.
	if err := g.panel.Ack(a.ID, "zhao.lei", "card replaced"); err != nil {
		t.Fatal(err)
	}
	for _, x := range g.alarms() {
		if x.Class == gateway.AlarmGatewayFault {
			t.Fatalf("the fault is still open after the ack: %+v", x)
		}
	}
}

// One unit of work: an input's change, the device states it sets (the
// contact's and the safe's), the alarm it raises and the siren it sounds
// are written in ONE change of the log (issue 16: three commits for one
// input; issue 29: the siren's output.on was a transaction of its own).
func TestAnInputIsOneChange(t *testing.T) {
	g := newGuarded(t)
	if err := g.panel.Arm("li.ming"); err != nil {
		t.Fatal(err)
	}
	g.clock.Advance(time.Minute)
	g.log.written()
	g.set("safe-a-door", true)
	var saved []*gateway.Change
	for _, c := range g.log.written() {
		if len(c.Events) > 0 {
			saved = append(saved, c)
		}
	}
	if len(saved) != 1 {
		t.Fatalf("%d changes with events for one input: %v", len(saved), saved)
	}
	c := saved[0]
	var types, states []string
	for _, e := range c.Events {
		types = append(types, e.Type)
	}
	for _, sa := range c.States {
		states = append(states, sa.State.Device+"="+sa.State.State)
	}
	if strings.Join(types, " ") != "safe.opened alarm.raised output.on" || strings.Join(states, " ") != "safe-a-door=open safe-a=open siren=on" || c.Panel == nil {
		t.Fatalf("the change: events %v, states %v, panel %v", types, states, c.Panel != nil)
	}
}

// A door forced: the opening, entry control's alarm and the siren it
// sounds are one change.
func TestADoorForcedIsOneChange(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	e.log.written()
	e.set("door-main", true)
	var types []string
	n := 0
	for _, c := range e.log.written() {
		if len(c.Events) == 0 {
			continue
		}
		n++
		for _, ev := range c.Events {
			types = append(types, ev.Type)
		}
	}
	if n != 1 || strings.Join(types, " ") != "door.opened alarm.raised output.on" {
		t.Fatalf("%d changes: %v", n, types)
	}
}

// Issue 16's unit of work, again: an input that raises an alarm is ONE
// transaction (its event, the device state, the alarm and the panel with
// the alarm's seq), not a second commit for the seq the first one gave;
// the seq is in the state a restart reads back.
func TestRaisingAnAlarmIsOneCommit(t *testing.T) {
	g := newGuarded(t)
	if err := g.panel.Arm("li.ming"); err != nil {
		t.Fatal(err)
	}
	g.clock.Advance(time.Minute)
	g.log.written()
	g.set("window-1", true)
	if w := g.log.written(); len(w) != 1 {
		t.Fatalf("the window opened while armed took %d commits, want 1", len(w))
	}
	a := g.alarm(gateway.AlarmIntrusion)
	raised, err := g.store.Query(gateway.EventFilter{Types: []string{"alarm.raised"}})
	if err != nil || len(raised) != 1 || a.RaisedSeq != raised[0].Seq {
		t.Fatalf("the alarm's seq %d, its alarm.raised %v (%v)", a.RaisedSeq, raised, err)
	}
	g.crash()
	g.open()
	if b := g.alarm(gateway.AlarmIntrusion); b == nil || b.RaisedSeq != a.RaisedSeq {
		t.Fatalf("after a crash the alarm's seq is %+v, want %d", b, a.RaisedSeq)
	}
}

// Issue 27, finding 2: a tamper while the disk is full is not lost. The
// input the log could not take is kept and written, with its own time, as
// soon as the log writes again, so the room's view of the device is what
// the driver last reported; meanwhile the siren follows the alarm rules in
// memory and every change of state is refused with storage; and an arming
// after the recovery sees the tamper.
func TestInputWhileTheDiskIsFullIsKept(t *testing.T) {
	g := newGuarded(t)
	g.mark, _ = g.store.LastSeq()
	g.log.fail.Store(true)
	cut := g.clock.Now()
	g.active["tamper-1"] = true
	if err := g.engine.InputChanged("tamper-1", true, cut); gateway.ErrorCode(err) != gateway.ESTORAGE {
		t.Fatalf("a tamper the log could not take: %v", err)
	}
	if g.siren.Read() != gpio.High {
		t.Fatal("the siren is silent for a tamper the log could not take")
	}
	g.clock.Advance(500 * time.Millisecond)
	if err := g.panel.Arm("li.ming"); gateway.ErrorCode(err) != gateway.ESTORAGE {
		t.Fatalf("arm while the log cannot write: %v", err)
	}
	// The loop is mended and cut again while the disk is still full: both
	// are kept, in order.
	g.engine.InputChanged("tamper-1", false, g.clock.Now())
	g.clock.Advance(100 * time.Millisecond)
	g.engine.InputChanged("tamper-1", true, g.clock.Now())
	if g.engine.Pending() != 3 {
		t.Fatalf("%d inputs kept, want 3", g.engine.Pending())
	}
	g.clock.Advance(time.Second) // still full: still kept
	g.log.fail.Store(false)
	g.clock.Advance(time.Second) // the fault's retry writes them
	if g.engine.Pending() != 0 {
		t.Fatalf("%d inputs still kept after the log writes again", g.engine.Pending())
	}
	var tampers []gateway.Event
	for _, e := range g.logged(g.mark) {
		if strings.HasPrefix(e.Type, "tamper.") {
			tampers = append(tampers, e)
		}
	}
	if len(tampers) != 3 || !tampers[0].TS.Equal(cut) || tampers[0].Type != "tamper.active" || tampers[1].Type != "tamper.restored" || tampers[2].Type != "tamper.active" {
		t.Fatalf("the tamper loop's events after the recovery: %+v", tampers)
	}
	for _, d := range g.engine.States() {
		if d.Device == "tamper-1" && !d.Active {
			t.Fatalf("the room reads the tamper loop %s; the driver said cut", d.State)
		}
	}
	if g.alarm(gateway.AlarmTamper) == nil {
		t.Fatal("no tamper alarm after the recovery")
	}
	var ref *gateway.RefusedError
	if err := g.panel.Arm("li.ming"); !errors.As(err, &ref) {
		t.Fatalf("armed with the tamper loop cut: %v", err)
	}
}
