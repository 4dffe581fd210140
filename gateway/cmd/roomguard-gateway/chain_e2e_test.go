package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/backup"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Issue 18, the review's attack on the file: drop the append-only
// triggers, edit an event's type, delete a row, put the triggers back.
// PRAGMA integrity_check says ok; log verify names the first broken link
// by its seq and exits 1; the gateway's next start raises a critical
// log-tampered alarm.
func TestTamperedLogIsFound(t *testing.T) {
	r := newRulesRig(t, "e2e-chain")
	for _, s := range []string{"open", "closed", "open", "closed"} {
		r.drive("window-1", s)
	}
	var out bytes.Buffer
	if err := Main(context.Background(), []string{"log", "verify", "--db", r.cfg.Storage.Path}, &out, &out); err != nil || !strings.Contains(out.String(), "intact") {
		t.Fatalf("the log as written: %v\n%s", err, out.String())
	}
	r.d.Stop()

	var edited, deleted int64
	db := tamper(t, r.cfg.Storage.Path, func(db *sql.DB) {
		db.QueryRow(`SELECT seq FROM events WHERE type = 'window.opened' ORDER BY seq LIMIT 1`).Scan(&edited)
		db.QueryRow(`SELECT seq FROM events WHERE type = 'window.closed' ORDER BY seq DESC LIMIT 1`).Scan(&deleted)
		execAll(t, db, editSQL(edited), fmt.Sprintf(`DELETE FROM events WHERE seq = %d`, deleted))
	})
	var ok string
	if db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); ok != "ok" {
		t.Fatalf("integrity_check: %s", ok)
	}

	out.Reset()
	err := Main(context.Background(), []string{"log", "verify", "--db", r.cfg.Storage.Path}, &out, &out)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), fmt.Sprintf("broken at seq %d:", edited+1)) {
		t.Fatalf("log verify after the edit of seq %d: %v (exit %d)\n%s", edited, err, exitCode(err), out.String())
	}
	// From after the edit, the deletion is what it finds.
	err = Main(context.Background(), []string{"log", "verify", "--db", r.cfg.Storage.Path, "--from", fmt.Sprint(edited + 1)}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("seq %d to %d are missing", deleted, deleted)) {
		t.Fatalf("log verify after seq %d: %v", edited, err)
	}

	r.start()
	if a := r.retainedAlarm("log-tampered"); a["priority"] != float64(1) || !strings.Contains(fmt.Sprint(a["detail"]), fmt.Sprint(edited+1)) {
		t.Fatalf("the start's alarm: %v", a)
	}
}

// Issue 18, item 1: an attacker who edits an event and recomputes the whole
// chain after it (every prev, every checkpoint's head) cannot sign the
// checkpoints again without the room's key: log verify finds the first
// one forged.
func TestRecomputedChainIsFound(t *testing.T) {
	r := newRulesRig(t, "e2e-rechain")
	for _, s := range []string{"open", "closed", "open", "closed"} {
		r.drive("window-1", s)
	}
	r.d.Stop()
	forgedAt := uint64(0)
	tamper(t, r.cfg.Storage.Path, func(db *sql.DB) {
		// Every event again, the first window.opened now a window.closed, each
		// prev and each checkpoint's head recomputed.
		type row struct {
			seq     uint64
			payload []byte
		}
		var all []row
		rows, err := db.Query(`SELECT seq, payload FROM events ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var x row
			rows.Scan(&x.seq, &x.payload)
			all = append(all, x)
		}
		rows.Close()
		prev, edited := gateway.Genesis(r.room), false
		for _, x := range all {
			var e gateway.Event
			if err := json.Unmarshal(x.payload, &e); err != nil {
				t.Fatal(err)
			}
			if !edited && e.Type == "window.opened" {
				e.Type, edited = "window.closed", true
			}
			e.Prev = prev
			if e.Type == "log.checkpoint" && edited {
				var c gateway.Checkpoint
				json.Unmarshal(e.Data, &c)
				c.Head = prev
				e.Data, _ = json.Marshal(c)
				if forgedAt == 0 {
					forgedAt = e.Seq
				}
			}
			b, _ := json.Marshal(e)
			if _, err := db.Exec(`UPDATE events SET type = ?, payload = ? WHERE seq = ?`, e.Type, b, x.seq); err != nil {
				t.Fatal(err)
			}
			prev = gateway.ChainHash(b)
		}
	})
	if forgedAt == 0 {
		t.Fatal("no checkpoint after the edit: the stop logs one")
	}
	var out bytes.Buffer
	err := Main(context.Background(), []string{"log", "verify", "--db", r.cfg.Storage.Path}, &out, &out)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), fmt.Sprintf("seq %d: a checkpoint the room's key did not sign: forged", forgedAt)) {
		t.Fatalf("log verify of a recomputed chain: %v\n%s", err, out.String())
	}
}

// Issue 18, item 3: the whole chain is verified every day: an event edited
// in the file while the gateway runs raises the log-tampered alarm at the
// next daily verification.
func TestDailyVerificationFindsTampering(t *testing.T) {
	r := newRulesRig(t, "e2e-daily")
	for _, s := range []string{"open", "closed"} {
		r.drive("window-1", s)
	}
	var edited int64
	tamper(t, r.cfg.Storage.Path, func(db *sql.DB) {
		if err := db.QueryRow(`SELECT seq FROM events WHERE type = 'window.opened'`).Scan(&edited); err != nil {
			t.Fatal(err)
		}
		execAll(t, db, editSQL(edited))
	})
	r.clock.Advance(24 * time.Hour)
	if a := r.retainedAlarm("log-tampered"); !strings.Contains(fmt.Sprint(a["detail"]), fmt.Sprintf("seq %d", edited+1)) {
		t.Fatalf("the daily verification's alarm: %v", a)
	}
}

// tamper opens a room's log as an attacker with the file would: the
// append-only triggers dropped, edit run, the triggers put back. It
// returns the open database.
func tamper(t *testing.T, path string, edit func(db *sql.DB)) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var triggers []string
	rows, err := db.Query(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		triggers = append(triggers, q)
	}
	rows.Close()
	execAll(t, db, `DROP TRIGGER events_no_update`, `DROP TRIGGER events_no_delete`)
	edit(db)
	execAll(t, db, triggers...)
	return db
}

func execAll(t *testing.T, db *sql.DB, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// editSQL turns the window.opened at seq into a window.closed, row and bytes.
func editSQL(seq int64) string {
	return fmt.Sprintf(`UPDATE events SET type = 'window.closed', payload = CAST(replace(CAST(payload AS TEXT), '"window.opened"', '"window.closed"') AS BLOB) WHERE seq = %d`, seq)
}

// Issue 18, item 6: storage.backup backs the log up every day, keeps the
// newest, and a backup that cannot be made is a gateway fault.
func TestDailyBackup(t *testing.T) {
	r := newRulesRig(t, "e2e-backup")
	r.d.Stop()
	dir := filepath.Join(t.TempDir(), "backups")
	r.cfg.Storage.Backup = &config.Backup{Dir: dir, Keep: 2}
	r.start()
	names := func() []string {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	// a day passes (again, if the daily wait was not armed yet when the
	// clock moved) until a new backup is there and the old ones pruned
	for day := 1; day <= 3; day++ {
		r.drive("window-1", []string{"open", "closed"}[day%2])
		before := names()
		for try := 0; ; try++ {
			r.clock.Advance(24 * time.Hour)
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				now := names()
				if len(now) == min(day, 2) && (len(before) == 0 || now[len(now)-1] != before[len(before)-1]) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if now := names(); len(now) == min(day, 2) && (len(before) == 0 || now[len(now)-1] != before[len(before)-1]) {
				break
			}
			if try == 5 {
				t.Fatalf("day %d: backups %v", day, names())
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if _, err := backup.Read(filepath.Join(dir, entries[1].Name())); err != nil {
		t.Fatalf("the newest backup: %v", err)
	}
	// The backup disk gone (a file where its directory was): a fault.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(24 * time.Hour)
	if a := r.retainedAlarm("gateway-fault"); !strings.Contains(fmt.Sprint(a["detail"]), "daily backup") {
		t.Fatalf("the failed backup's alarm: %v", a)
	}
}

// Issue 18, item 1: a quiet room's events are signed within the hour, not
// only at the thousandth; an hour with nothing new adds no checkpoint.
func TestHourlyCheckpoint(t *testing.T) {
	r := newRulesRig(t, "e2e-hourly")
	count := func() int {
		evs, err := r.d.store.Query(gateway.EventFilter{Types: []string{"log.checkpoint"}})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	r.drive("window-1", "open")
	before := count()
	waitCount := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for count() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d checkpoints, want %d", count(), want)
			}
			r.clock.Advance(gateway.CheckpointPeriod) // again, if the wait was not armed yet
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitCount(before + 1)
	for range 3 { // nothing new: no more checkpoints
		r.clock.Advance(gateway.CheckpointPeriod)
		time.Sleep(20 * time.Millisecond)
	}
	if n := count(); n != before+1 {
		t.Fatalf("%d checkpoints after quiet hours, want %d", n, before+1)
	}
	r.drive("window-1", "closed")
	waitCount(before + 2)
}

// Issue 20: a tamper alarm reaches the call-down's people by SMS through
// the room's own modem (the simulated one on a pseudo-terminal, driven by
// the real driver), in Chinese with the room, the alarm and the time; each
// delivery is logged; acknowledging the alarm stops the call-down.
func TestAlarmReachesPeopleBySMS(t *testing.T) {
	r := newRulesRig(t, "e2e-notify")
	r.d.Stop()
	r.cfg.Notify = &config.Notify{Modem: &config.NotifyModem{Path: "/dev/roomguard/modem"}, Timezone: "Asia/Shanghai",
		People: []config.NotifyPerson{{ID: "guard", Name: "值班保安", Phone: "+8613800000001"}, {ID: "officer", Name: "保密员", Phone: "13900000002"},
			{ID: "leader", Name: "分管领导", Phone: "13700000003"}},
		Calldown: []wire.CalldownRule{{Classes: []string{"tamper", "intrusion", "seal-broken", "carrier-removal", "command-forgery", "log-tampered"},
			Steps: []wire.CalldownStep{{After: "0s", People: []string{"guard", "officer"}},
				{After: "3m", People: []string{"leader"}}}}}}
	r.start()
	r.drive("tamper-1", "tamper")
	a := r.retainedAlarm("tamper")
	deadline := time.Now().Add(20 * time.Second)
	for len(r.d.sim.Modem.Sent()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("SMS sent: %+v", r.d.sim.Modem.Sent())
		}
		r.clock.Advance(0) // the first step is due at once
		time.Sleep(20 * time.Millisecond)
	}
	to := map[string]string{}
	for _, s := range r.d.sim.Modem.Sent() {
		to[s.To] = s.Text
	}
	for _, n := range []string{"+8613800000001", "13900000002"} {
		if !strings.Contains(to[n], "【机要室】三级报警：防拆（tamper-1），11-22 18:00:00") {
			t.Fatalf("the SMS to %s: %q", n, to[n])
		}
	}
	r.w.waitFor("the deliveries logged", func() bool {
		return strings.Count(strings.Join(r.w.events, " "), "notify.sent") == 2
	}) // waitFor holds the watcher's lock while it asks
	if err := r.d.room.Panel.Ack(fmt.Sprint(a["id"]), "p-1", "cover refitted"); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(5 * time.Minute)
	time.Sleep(100 * time.Millisecond)
	if n := len(r.d.sim.Modem.Sent()); n != 2 {
		t.Fatalf("%d SMS after the acknowledgement", n)
	}
	// The network refuses, as sim/modem/refuse drives it: the next alarm's
	// deliveries are retried, then notify.failed.
	for _, bad := range [][2]string{{"unregistered", "maybe"}, {"asleep", "on"}} {
		if err := r.d.sim.DriveModem(bad[0], []byte(bad[1])); err == nil {
			t.Fatalf("the modem driven with %v", bad)
		}
	}
	if err := r.d.sim.DriveModem("refuse", []byte("on")); err != nil {
		t.Fatal(err)
	}
	r.drive("tamper-1", "normal")
	r.drive("tamper-1", "tamper")
	failed := func() int {
		r.w.mu.Lock()
		defer r.w.mu.Unlock()
		return strings.Count(strings.Join(r.w.events, " "), "notify.failed")
	}
	for i := 0; failed() < 2; i++ {
		if i > 400 {
			t.Fatal("no notify.failed after the retries")
		}
		r.clock.Advance(time.Second) // the retries' waits
		time.Sleep(10 * time.Millisecond)
	}
}

// Issue 20, item 1: a security officer replaces the call-down from a console
// (calldown/replace): held to the config's rule (a critical alarm reaches
// two people, every person listed, every channel one the room has), refused
// to anyone else, logged, in force at once and after a restart, published.
func TestCalldownReplacedFromAConsole(t *testing.T) {
	r := newRulesRig(t, "e2e-calldown")
	r.d.Stop()
	r.cfg.Notify = &config.Notify{Modem: &config.NotifyModem{Path: "/dev/roomguard/modem"}, Timezone: "Asia/Shanghai",
		People:   []config.NotifyPerson{{ID: "guard", Name: "值班保安", Phone: "+8613800000001"}, {ID: "officer", Name: "保密员", Phone: "13900000002"}},
		Calldown: []wire.CalldownRule{{Steps: []wire.CalldownStep{{After: "0s", People: []string{"guard", "officer"}}}}}}
	r.start()
	calldown := func() map[string]any {
		var c map[string]any
		r.w.mu.Lock()
		defer r.w.mu.Unlock()
		json.Unmarshal(r.w.topics[r.topic("calldown")], &c)
		return c
	}
	r.w.waitFor("the call-down published", func() bool { return r.w.topics[r.topic("calldown")] != nil })
	if c := calldown(); c["source"] != "config" || c["version"] != float64(0) {
		t.Fatalf("the call-down at start: %v", c)
	}
	r.ok("personnel/replace", "reg-1", map[string]any{"by": "p-1", "version": 1, "csv": personnelCSV(4)})
	people := []map[string]any{{"id": "guard", "name": "夜班保安", "phone": "+8613811111111"}, {"id": "officer", "name": "保密员", "phone": "13900000002"},
		{"id": "leader", "name": "分管领导", "phone": "13700000003"}}
	good := []map[string]any{
		{"classes": []string{"tamper", "intrusion", "seal-broken", "carrier-removal", "command-forgery", "log-tampered"},
			"steps": []map[string]any{{"after": "0s", "people": []string{"guard"}}, {"after": "1m", "people": []string{"leader"}}}},
		{"steps": []map[string]any{{"after": "0s", "people": []string{"guard"}}}}}
	for _, bad := range []struct {
		by       string
		calldown any
		code     string
		says     string
	}{
		{"p-0", good, "not_allowed", "security-officer"},
		{"p-1", []map[string]any{{"steps": []map[string]any{{"after": "0s", "people": []string{"guard"}}}}}, "invalid", "must reach at least two people"},
		{"p-1", []map[string]any{{"steps": []map[string]any{{"after": "0s", "people": []string{"guard", "nobody"}}}}}, "invalid", `"nobody" is not one of the people`},
		{"p-1", []map[string]any{{"steps": []map[string]any{{"after": "0s", "people": []string{"guard", "officer"}, "channels": []string{"email"}}}}}, "invalid", "notify.smtp is missing"},
	} {
		rep := r.w.command(r.room, "calldown/replace", "cd-bad-"+bad.code+fmt.Sprint(len(bad.says)), map[string]any{"by": bad.by, "version": 1, "people": people, "calldown": bad.calldown})
		e, _ := rep["error"].(map[string]any)
		if rep["status"] != "error" || e["code"] != bad.code || !strings.Contains(fmt.Sprint(e["message"]), bad.says) {
			t.Fatalf("calldown/replace by %s with %v: %v", bad.by, bad.calldown, rep)
		}
	}
	res := r.ok("calldown/replace", "cd-1", map[string]any{"by": "p-1", "version": 1, "people": people, "calldown": good})
	if res["version"] != float64(1) {
		t.Fatalf("replaced: %v", res)
	}
	r.w.waitFor("the new call-down published", func() bool { return bytes.Contains(r.w.topics[r.topic("calldown")], []byte(`"source":"console"`)) })
	r.w.waitFor("logged", func() bool { return strings.Contains(strings.Join(r.w.events, " "), "calldown.replaced") })
	// in force: a tamper alarm reaches the night guard's new number at once
	r.drive("tamper-1", "tamper")
	r.retainedAlarm("tamper")
	deadline := time.Now().Add(20 * time.Second)
	for len(r.d.sim.Modem.Sent()) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no SMS")
		}
		r.clock.Advance(0)
		time.Sleep(20 * time.Millisecond)
	}
	if s := r.d.sim.Modem.Sent(); s[0].To != "+8613811111111" {
		t.Fatalf("the SMS went to %s, not the number the console set", s[0].To)
	}
	// kept across a restart; an old version does not undo it
	r.d.Stop()
	r.w.mu.Lock()
	delete(r.w.topics, r.topic("calldown"))
	r.w.mu.Unlock()
	r.start()
	r.w.waitFor("the call-down after a restart", func() bool { return bytes.Contains(r.w.topics[r.topic("calldown")], []byte(`"version":1`)) })
	if c := calldown(); c["source"] != "console" || c["updated_by"] != "p-1" {
		t.Fatalf("after a restart: %v", c)
	}
	rep := r.w.command(r.room, "calldown/replace", "cd-old", map[string]any{"by": "p-1", "version": 1, "people": people, "calldown": good})
	if e, _ := rep["error"].(map[string]any); rep["status"] != "error" || e["code"] != "conflict" {
		t.Fatalf("an old version: %v", rep)
	}
}
