package room_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// A maintenance visit (维修, issue 31, item 1): asked for beforehand, a
// technician's card does nothing at the door until the leader approves it
// through their own channel; once approved, the technician enters only
// behind the supervising custodian, and is an alarm at once when the
// custodian leaves them inside; the custodian closes it with the storage
// media's check, the technicians checked out in the same change. The ID
// number is never logged whole.
func TestMaintenanceVisit(t *testing.T) {
	v := newVaultRoom(t, carriers)
	req := gateway.MaintenanceRequest{Company: "某某信息技术有限公司", Equipment: "涉密计算机 JM-PC-03",
		Technicians: []gateway.Technician{{Name: "周工", IDType: "resident-id", IDNumber: "11010519491231002X", Card: "ABCDEF0009"}},
		From:        t0, Until: t0.Add(4 * time.Hour), Custodian: "p-zhang", Approver: "p-boss", By: "p-li", Via: "console/s1"}
	v.news()
	v.log.written()
	for _, c := range []struct {
		name, code, contains string
		change               func(*gateway.MaintenanceRequest)
	}{
		{"no technician", gateway.EINVALID, "technicians", func(q *gateway.MaintenanceRequest) { q.Technicians = nil }},
		{"an approver who is no leader", gateway.ENOTALLOWED, "a leader approves", func(q *gateway.MaintenanceRequest) { q.Approver = "p-zhao" }},
		{"the asker as approver", gateway.ESAMEPERSON, "cannot approve", func(q *gateway.MaintenanceRequest) { q.Approver = "p-li" }},
		{"a custodian not in the register", gateway.ENOTFOUND, "p-nobody", func(q *gateway.MaintenanceRequest) { q.Custodian = "p-nobody" }},
		{"a bad ID number", gateway.EINVALID, "technicians[0]: id_number", func(q *gateway.MaintenanceRequest) {
			q.Technicians = []gateway.Technician{{Name: "周工", IDType: "resident-id", IDNumber: "110105194912310021", Card: "ABCDEF0009"}}
		}},
		{"a card of the register", gateway.ECONFLICT, "belongs to", func(q *gateway.MaintenanceRequest) {
			q.Technicians = []gateway.Technician{{Name: "周工", IDType: "passport", IDNumber: "E1234567", Card: "62E3086CED"}}
		}},
	} {
		q := req
		c.change(&q)
		_, err := v.room.RequestMaintenance(q)
		v.refused(c.name, err, c.code, c.contains)
	}
	id, err := v.room.RequestMaintenance(req)
	if err != nil {
		t.Fatal(err)
	}
	v.expect("maintenance.requested")
	if d := v.lastData("maintenance.requested"); !strings.Contains(fmtAny(d["technicians"]), "110105********002X") || strings.Contains(fmtAny(d), "11010519491231002X") {
		t.Fatalf("maintenance.requested %v", d)
	}
	// Not approved: the card is nobody's.
	if d := v.badge("reader-out", "ABCDEF0009"); d.Granted || d.Reason != gateway.DenyUnknownCard {
		t.Fatalf("a technician before the approval: %+v", d)
	}
	v.news()
	v.log.written()
	_, err = v.room.ApproveMaintenance(id, "p-zhao", "console/s2")
	v.refused("another's approval", err, gateway.ENOTALLOWED, "names p-boss")
	_, err = v.room.ApproveMaintenance(id, "p-boss", "console/s1")
	v.refused("the leader through the request's channel", err, gateway.ESAMEPERSON, "own session")
	visits, err := v.room.ApproveMaintenance(id, "p-boss", "console/s3")
	if err != nil || len(visits) != 1 || len(v.log.written()) != 1 {
		t.Fatalf("approved: %v %v", visits, err)
	}
	v.expect("visitor.registered", "maintenance.approved")

	// The technician alone is refused; behind the custodian they enter.
	if d := v.badge("reader-out", "ABCDEF0009"); d.Granted || d.Reason != gateway.DenyNoEscort {
		t.Fatalf("a technician alone: %+v", d)
	}
	v.badge("reader-out", "62E3086CED")
	v.clock.Advance(2 * time.Second)
	if d := v.badge("reader-out", "ABCDEF0009"); !d.Granted {
		t.Fatalf("a technician behind the custodian: %+v", d)
	}
	v.set("door-main", true)
	v.set("door-main", false)
	v.pass("reader-in", "62E3086CED") // the custodian leaves them inside
	if a := v.alarm(gateway.AlarmUnescorted); a.Device != "p-zhang" {
		t.Fatalf("alarm %+v", a)
	}
	v.news()
	v.log.written()
	err = v.room.CloseMaintenance(id, "kept", "更换电源", "p-li")
	v.refused("closed by another than the custodian", err, gateway.ENOTALLOWED, "supervised by p-zhang")
	err = v.room.CloseMaintenance(id, "lost", "", "p-zhang")
	v.refused("a media check that is none", err, gateway.EINVALID, "media")
	if err := v.room.CloseMaintenance(id, "kept", "更换电源，硬盘未拆卸", "p-zhang"); err != nil {
		t.Fatal(err)
	}
	if w := v.log.written(); len(w) != 1 {
		t.Fatalf("%d changes for the close, want one", len(w))
	}
	v.expect("alarm.restored", "visitor.checked_out", "maintenance.closed")
	if d := v.lastData("maintenance.closed"); d["media"] != "kept" || d["custodian"] != "p-zhang" || d["checked_out"] != float64(1) {
		t.Fatalf("maintenance.closed %v", d)
	}
	if d := v.badge("reader-out", "ABCDEF0009"); d.Granted {
		t.Fatal("a technician's card works after the close")
	}
}

func fmtAny(v any) string { return fmt.Sprint(v) }
