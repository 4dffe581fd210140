package sqlite_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
)

// relay takes in every entry of from's journal after what to holds of it.
func relay(t *testing.T, from *sqlite.Store, fromName string, to *sqlite.Store, toName string) int {
	t.Helper()
	applied, err := to.PeerApplied(fromName)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := from.Journal(applied, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := to.ApplyJournal(toName, fromName, e); err != nil {
			t.Fatal(err)
		}
	}
	return len(entries)
}

// Issue 33, item 4: what the operators did at one console is taken in at
// the other, once and in order: audit entries (marked with where they
// were done), a handover handed over at one and taken over at the other.
func TestJournalBetweenTwoConsoles(t *testing.T) {
	a, b := open(t), open(t)
	t1 := t0.Add(time.Hour)
	if err := a.Audit(dashboard.AuditEntry{At: t1, User: "wang", Action: "alarm.ack", Room: "jiyao-301", Target: "a-1", Result: "ok", Remote: "10.0.0.5"}); err != nil {
		t.Fatal(err)
	}
	n, err := a.HandOver(dashboard.Handover{Outgoing: "wang", OutAt: t1, Notes: "门禁读卡器偶有迟滞",
		Alarms: []dashboard.HandedAlarm{{Room: "jiyao-301", ID: "a-1", Class: "intrusion", Priority: 2, RaisedAt: t0}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := relay(t, a, "console-a", b, "console-b"); got != 2 {
		t.Fatalf("%d entries taken in, want 2", got)
	}
	if relay(t, a, "console-a", b, "console-b") != 0 {
		t.Fatal("taken in twice")
	}
	log, err := b.AuditLog(sqlite.AuditFilter{})
	if err != nil || len(log) != 1 || log[0].Console != "console-a" || log[0].User != "wang" || log[0].Action != "alarm.ack" || !log[0].At.Equal(t1) {
		t.Fatalf("b's audit log: %+v, %v", log, err)
	}
	// The handover awaits its incoming guard at b too: b refuses another.
	if _, err := b.HandOver(dashboard.Handover{Outgoing: "li", OutAt: t1}); gateway.ErrorCode(err) != gateway.ECONFLICT {
		t.Fatalf("a second handover at b: %v", err)
	}
	hs, err := b.Handovers(10)
	if err != nil || len(hs) != 1 || hs[0].Console != "console-a" || hs[0].ConsoleN != n || hs[0].Notes != "门禁读卡器偶有迟滞" || len(hs[0].Alarms) != 1 {
		t.Fatalf("b's handovers: %+v, %v", hs, err)
	}
	// Taken over at b; a hears it.
	t2 := t1.Add(time.Minute)
	if _, err := b.TakeOver(hs[0].N, "li", t2, "收到"); err != nil {
		t.Fatal(err)
	}
	if got := relay(t, b, "console-b", a, "console-a"); got != 1 {
		t.Fatalf("%d entries taken in at a, want 1", got)
	}
	h, err := a.Handover(n)
	if err != nil || h.Incoming != "li" || !h.InAt.Equal(t2) || h.InNotes != "收到" || h.InConsole != "console-b" || h.Console != "" {
		t.Fatalf("a's handover: %+v, %v", h, err)
	}
	// Only the next entry is taken; a replay or a gap changes nothing.
	entries, err := a.Journal(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ApplyJournal("console-b", "console-a", entries[0]); gateway.ErrorCode(err) != gateway.ECONFLICT {
		t.Fatalf("a replayed entry: %v", err)
	}
	if err := a.Audit(dashboard.AuditEntry{At: t2, User: "zhao", Action: "login", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Audit(dashboard.AuditEntry{At: t2, User: "zhao", Action: "logout", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	entries, err = a.Journal(2, 10)
	if err != nil || len(entries) != 2 {
		t.Fatalf("a's journal after 2: %+v, %v", entries, err)
	}
	if err := b.ApplyJournal("console-b", "console-a", entries[1]); gateway.ErrorCode(err) != gateway.ECONFLICT || !strings.Contains(err.Error(), "not the next") {
		t.Fatalf("an entry past a gap: %v", err)
	}
	if head, err := a.JournalHead(); err != nil || head != 4 {
		t.Fatalf("a's head: %d, %v", head, err)
	}
}

// The same handover taken over at both consoles at once: each keeps the
// first it recorded and its audit log says the other was refused.
func TestHandoverTakenOverAtBothConsoles(t *testing.T) {
	a, b := open(t), open(t)
	t1 := t0.Add(time.Hour)
	n, err := a.HandOver(dashboard.Handover{Outgoing: "wang", OutAt: t1})
	if err != nil {
		t.Fatal(err)
	}
	relay(t, a, "console-a", b, "console-b")
	hs, err := b.Handovers(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.TakeOver(n, "li", t1.Add(time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.TakeOver(hs[0].N, "zhao", t1.Add(2*time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	relay(t, a, "console-a", b, "console-b")
	relay(t, b, "console-b", a, "console-a")
	for _, s := range []*sqlite.Store{a, b} {
		log, err := s.AuditLog(sqlite.AuditFilter{})
		if err != nil || len(log) != 1 || log[0].Action != "handover.take" || !strings.Contains(log[0].Result, "refused: taken over by") {
			t.Fatalf("the conflict in the audit log: %+v, %v", log, err)
		}
	}
}

// The accounts' primary publishes its accounts; the other console keeps
// each at its latest revision and ignores an older one replayed; a change
// of password ends the account's sessions there.
func TestAccountsFromThePrimary(t *testing.T) {
	a, b := open(t), open(t)
	if err := a.CreateUser(dashboard.User{Name: "wang", Display: "王", Role: dashboard.RoleGuard, Hash: "h1", Created: t0, CreatedBy: "admin"}, false); err != nil {
		t.Fatal(err)
	}
	recs, err := a.AccountRecords()
	if err != nil || len(recs) != 1 || recs[0].Rev != 1 {
		t.Fatalf("a's accounts: %+v, %v", recs, err)
	}
	old := recs[0]
	if ok, err := b.ApplyAccount("console-a", old); !ok || err != nil {
		t.Fatalf("apply: %v, %v", ok, err)
	}
	if err := b.CreateSession(dashboard.Session{ID: "s1", User: "wang", Created: t0, LastSeen: t0}); err != nil {
		t.Fatal(err)
	}
	// A login's count is not a change the consoles share.
	if _, err := a.UpdateUser("wang", func(u *dashboard.User) error { u.WrongPassword("10.0.0.9", t0); return nil }); err != nil {
		t.Fatal(err)
	}
	if u, _ := a.User("wang"); u.Rev != 1 {
		t.Fatalf("a wrong password made revision %d", u.Rev)
	}
	if _, err := a.UpdateUser("wang", func(u *dashboard.User) error { u.Hash, u.Role = "h2", dashboard.RoleOfficer; return nil }); err != nil {
		t.Fatal(err)
	}
	recs, _ = a.AccountRecords()
	if ok, err := b.ApplyAccount("console-a", recs[0]); !ok || err != nil {
		t.Fatalf("apply rev 2: %v, %v", ok, err)
	}
	if ok, err := b.ApplyAccount("console-a", old); ok || err != nil {
		t.Fatalf("the older revision replayed: %v, %v", ok, err)
	}
	u, err := b.User("wang")
	if err != nil || u.Hash != "h2" || u.Role != dashboard.RoleOfficer || u.Rev != 2 || u.Origin != "console-a" || u.Display != "王" {
		t.Fatalf("b's account: %+v, %v", u, err)
	}
	if _, err := b.Session("s1"); gateway.ErrorCode(err) != gateway.ENOTFOUND {
		t.Fatalf("the session after a new password: %v", err)
	}
	// Kept at a: b's own list of what it publishes leaves it out.
	if recs, err := b.AccountRecords(); err != nil || len(recs) != 0 {
		t.Fatalf("b publishes %+v, %v", recs, err)
	}
	bad := recs[0]
	bad.Role = "root"
	if _, err := b.ApplyAccount("console-a", bad); gateway.ErrorCode(err) != gateway.EINVALID {
		t.Fatalf("a record with no such role: %v", err)
	}
}
