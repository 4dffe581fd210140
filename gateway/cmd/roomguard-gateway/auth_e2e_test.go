package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Issue 17, the attacks of its list that need no more than a signature,
// end to end with Mosquitto: anyone on the broker (here the guard station's
// own connection, without its key) sends the commands the review sent; each
// is refused as unauthenticated and changes nothing; a captured signed
// command sent again is refused as replayed; the refusals raise a
// command-forgery alarm.
func TestUnsignedCommandsAreRefusedEndToEnd(t *testing.T) {
	r := newRulesRig(t, "e2e-auth")
	r.ok("arm", "a1", map[string]any{"by": "li.ming"})
	r.clock.Advance(2 * time.Minute) // past the exit delay
	r.w.waitFor("armed", func() bool { return strings.Contains(string(r.w.topics[r.topic("mode")]), `"armed"`) })
	r.drive("tamper-1", "tamper")
	tamper := r.retainedAlarm("tamper")
	r.clock.Advance(time.Minute) // the arm above is now too old to be fresh

	attacks := []struct{ cmd, payload string }{
		{"disarm", `{"id":"x1","by":"attacker"}`},
		{"ack", fmt.Sprintf(`{"id":"x2","by":"attacker","alarm":%q,"comment":"nothing"}`, tamper["id"])},
		{"safe/release", `{"id":"x3","by":"nobody","safe":"safe-a","reason":"x"}`},
		{"personnel/replace", `{"id":"x4","by":"attacker","version":99,"csv":"id,name,cards,level,role,rooms\nx,X,0000000001,核心,机要员,*\n"}`},
		{"carrier/signout", `{"id":"x5","by":"attacker","carrier":"JM-1","borrower":"x","purpose":"x","may_leave":true,"approver":"x"}`},
		{"seal", `{"id":"x6","by":"alice"}`},
	}
	for _, a := range attacks {
		var id struct{ ID string }
		json.Unmarshal([]byte(a.payload), &id)
		r.w.client.Publish(r.topic("cmd/"+a.cmd), 1, false, a.payload).Wait()
		topic := r.topic("reply/" + id.ID)
		r.w.waitFor("reply "+id.ID, func() bool { return r.w.topics[topic] != nil })
		var rep map[string]any
		r.w.mu.Lock()
		json.Unmarshal(r.w.topics[topic], &rep)
		r.w.mu.Unlock()
		if e, _ := rep["error"].(map[string]any); rep["status"] != "error" || e["code"] != "unauthenticated" {
			t.Errorf("unsigned %s: %v", a.cmd, rep)
		}
	}
	// A captured signed command, sent again: replayed.
	fields := map[string]any{"id": "c1", "by": "zhao.lei", "alarm": tamper["id"], "comment": "已核查"}
	captured, _ := json.Marshal(fields)
	env := r.w.sign(r.room, "ack", captured)
	for i, want := range []string{"ok", "replayed"} {
		r.w.mu.Lock()
		delete(r.w.topics, r.topic("reply/c1"))
		r.w.mu.Unlock()
		r.w.client.Publish(r.topic("cmd/ack"), 1, false, env).Wait()
		r.w.waitFor("reply c1", func() bool { return r.w.topics[r.topic("reply/c1")] != nil })
		var rep map[string]any
		json.Unmarshal(r.w.get(r.topic("reply/c1")), &rep)
		e, _ := rep["error"].(map[string]any)
		if (i == 0 && rep["status"] != "ok") || (i == 1 && e["code"] != want) {
			t.Fatalf("the captured ack, time %d: %v", i+1, rep)
		}
	}
	if !strings.Contains(string(r.w.get(r.topic("mode"))), `"armed"`) {
		t.Fatalf("an unsigned command changed the room: %s", r.w.get(r.topic("mode")))
	}
	forgery := r.retainedAlarm("command-forgery")
	if forgery["priority"] != float64(2) {
		t.Fatalf("command-forgery alarm %v", forgery)
	}
	// The unsigned ones have no principal: their first five are logged
	// one by one, the sixth in the minute's summary (issue 27).
	r.clock.Advance(time.Minute)
	r.w.waitFor(fmt.Sprintf("%d auth.refused events", len(attacks)+1), func() bool {
		refused := 0
		for _, e := range r.w.events {
			if e == "auth.refused" {
				refused++
			}
		}
		return refused == len(attacks)+1
	})
}

// Issue 17, item 5, the review's attack: seal then unseal "by alice" and
// "by bob" from one client. Signed by one key in one session, the second
// name is refused; from a second session it seals.
func TestOneClientCannotSealAlone(t *testing.T) {
	r := newRulesRig(t, "e2e-two")
	if res := r.ok("seal", "a1", map[string]any{"by": "alice"}); res["done"] != false {
		t.Fatalf("first confirmation: %v", res)
	}
	rep := r.w.command(r.room, "seal", "b1", map[string]any{"by": "bob"})
	if e, _ := rep["error"].(map[string]any); rep["status"] != "error" || !strings.Contains(fmt.Sprint(e["message"]), "same channel") {
		t.Fatalf("bob from alice's channel: %v", rep)
	}
	if res := r.ok("seal", "b2", map[string]any{"by": "bob", "session": "console-b"}); res["done"] != true {
		t.Fatalf("bob from another session: %v", res)
	}
}

// Issue 17, item 4: by is a person of the room's register, valid today,
// allowed in this room, whose role the command takes; anything else is
// refused with its own code and changes nothing.
func TestCommandsNamePeopleOfTheRegister(t *testing.T) {
	a := startAccessRoom(t, false, 10)
	for i, c := range []struct {
		cmd    string
		fields map[string]any
		code   string
		says   string
	}{
		{"disarm", map[string]any{"by": "attacker"}, "unknown_person", `"attacker" is not a person`},
		{"arm", map[string]any{"by": "p-2"}, "not_allowed", "expired"},
		{"arm", map[string]any{"by": "p-5"}, "not_allowed", "not allowed in room e2e-access"},
		{"personnel/replace", map[string]any{"by": "p-0", "version": 9, "csv": personnelCSV(4)}, "not_allowed", "is a clerk; it takes [security-officer]"},
	} {
		rep := a.w.command(a.room, c.cmd, fmt.Sprintf("who-%d", i), c.fields)
		e, _ := rep["error"].(map[string]any)
		if rep["status"] != "error" || e["code"] != c.code || !strings.Contains(fmt.Sprint(e["message"]), c.says) {
			t.Errorf("%s by %v: %v", c.cmd, c.fields["by"], rep)
		}
	}
	if !strings.Contains(string(a.w.get("roomguard/"+a.room+"/personnel")), `"count":10`) {
		t.Fatalf("the register changed: %s", a.w.get("roomguard/"+a.room+"/personnel"))
	}
	// Issue 27, finding 7: refusals like any other: each logged (within the
	// budget) with its code, and counted toward command-forgery (four here,
	// and a fifth).
	codes := map[string]int{}
	seen := 0
	for range 4 {
		codes[fmt.Sprint(data(a.waitEvent(&seen, "auth.refused"))["code"])]++
	}
	if codes["unknown_person"] != 1 || codes["not_allowed"] != 3 {
		t.Fatalf("the refusals logged: %v", codes)
	}
	a.w.command(a.room, "disarm", "who-5", map[string]any{"by": "someone-else"})
	a.w.waitFor("command-forgery", func() bool {
		for _, p := range a.w.topics {
			if strings.Contains(string(p), `"command-forgery"`) {
				return true
			}
		}
		return false
	})
	// The right people: a clerk arms, the security officer replaces.
	if rep := a.w.command(a.room, "arm", "ok-arm", map[string]any{"by": "p-0"}); rep["status"] != "ok" {
		t.Fatalf("arm by a clerk: %v", rep)
	}
	if rep := a.w.command(a.room, "personnel/replace", "ok-reg", map[string]any{"by": "p-1", "version": 2, "csv": personnelCSV(10)}); rep["status"] != "ok" {
		t.Fatalf("replace by the security officer: %v", rep)
	}
}

// Issue 27, finding 3: a register that is empty, or leaves the room with no
// security officer, is refused from a console (it would turn off every
// person check, or lock the room's register out of every console); the
// Pi's own command line may install one with --allow-empty or
// --allow-no-officer, and may install a register whatever it holds. Once a
// register was installed, an empty one never means "anyone".
func TestAnEmptyRegisterDoesNotTurnOffPersonChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	a := startAccessRoom(t, false, 4)
	header := "id,name,cards,level,role,rooms,valid_from,valid_until,schedule,holidays\n"
	noOfficer := strings.Replace(personnelCSV(4), "p-1,李娜,04A224E2;90:324,重要,保密员", "p-1,李娜,04A224E2;90:324,重要,机要员", 1)
	for i, c := range []struct{ csv, says string }{
		{header, "empty"},
		{noOfficer, "no security officer"},
	} {
		rep := a.w.command(a.room, "personnel/replace", fmt.Sprintf("empty-%d", i), map[string]any{"by": "p-1", "version": 2 + i, "csv": c.csv})
		e, _ := rep["error"].(map[string]any)
		if rep["status"] != "error" || e["code"] != gateway.EINVALID || !strings.Contains(fmt.Sprint(e["message"]), c.says) {
			t.Fatalf("a register %s from a console: %v", c.says, rep)
		}
	}
	if ri, _ := a.d.store.Register(); ri.Version != 1 || ri.Count != 4 {
		t.Fatalf("a refused register changed the room's: %+v", ri)
	}

	// From the Pi: refused too, unless said on purpose.
	dir := t.TempDir()
	cfg := "--config=" + a.cfgPath
	empty, other := filepath.Join(dir, "empty.csv"), filepath.Join(dir, "no-officer.csv")
	os.WriteFile(empty, []byte(header), 0o600)
	os.WriteFile(other, []byte(noOfficer), 0o600)
	if out, err := a.cli("personnel", "import", cfg, "--by=root", empty); err == nil || !strings.Contains(err.Error(), "--allow-empty") {
		t.Fatalf("an empty register from the Pi without --allow-empty: %v\n%s", err, out)
	}
	if out, err := a.cli("personnel", "import", cfg, "--by=root", "--allow-no-officer", other); err != nil {
		t.Fatalf("a register with no officer from the Pi, on purpose: %v\n%s", err, out)
	}
	// Nobody of the register may replace it now but the Pi, which always may.
	if rep := a.w.command(a.room, "personnel/replace", "officer-gone", map[string]any{"by": "p-1", "version": 9, "csv": personnelCSV(4)}); rep["status"] != "error" {
		t.Fatalf("a clerk replaced the register: %v", rep)
	}
	if out, err := a.cli("personnel", "import", cfg, "--by=root", "--allow-empty", empty); err != nil {
		t.Fatalf("an empty register from the Pi, on purpose: %v\n%s", err, out)
	}
	// Empty now, but installed: nobody is a person of it.
	rep := a.w.command(a.room, "arm", "nobody", map[string]any{"by": "nobody-at-all"})
	if e, _ := rep["error"].(map[string]any); rep["status"] != "error" || e["code"] != gateway.EUNKNOWNPERSON {
		t.Fatalf("arm by nobody with an empty register installed: %v", rep)
	}
}
