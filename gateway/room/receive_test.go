package room_test

import (
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway"
)

// A document received (收文登记, issue 30): each copy a carrier of the
// register, numbered after the year's documents, with carrier.received and
// the register's new version in ONE change; the next document takes the
// next number.
func TestReceiveRegistersEachCopy(t *testing.T) {
	v := newVaultRoom(t, carriers)
	v.log.written()
	rc := gateway.Receipt{Source: "市委办公室", DocNumber: "市委办〔2026〕12号", Title: "关于年终检查的通知", Class: "机密", Period: "2031-12-31",
		Kind: "文件", Home: "safe-a", Custodian: "p-zhang", NeedToKnow: []string{"p-li", "保密员"},
		EPCs: []string{"3008 33B2 DDD9 0140 0000 0101", "300833B2DDD9014000000102", "300833B2DDD9014000000103"}, By: "p-zhang"}
	copies, err := v.room.Receive(rc)
	if err != nil {
		t.Fatal(err)
	}
	if len(copies) != 3 || copies[0].ID != "JM-2026-0001-01" || copies[2].ID != "JM-2026-0001-03" || copies[0].EPC != "300833B2DDD9014000000101" ||
		copies[1].Copy != 2 || copies[1].Copies != 3 || copies[0].Class != gateway.Secret || copies[0].Kind != "document" ||
		strings.Join(copies[0].NeedToKnow, ",") != "p-li,security-officer" {
		t.Fatalf("copies %+v", copies)
	}
	w := v.log.written()
	if len(w) != 1 || len(w[0].Registers) != 1 || len(w[0].Registers[0].Carriers) != 6 {
		t.Fatalf("%d changes for one receipt, want one with the register of 6", len(w))
	}
	v.expect("carrier.received", "carriers.replaced")
	if d := v.lastData("carrier.received"); d["document"] != "JM-2026-0001" || d["doc_number"] != "市委办〔2026〕12号" || len(d["copies"].([]any)) != 3 {
		t.Fatalf("carrier.received %v", d)
	}
	if ri, _ := v.store.CarrierRegister(); ri.Version != 2 || ri.Count != 6 || len(v.vault.Carriers()) != 6 {
		t.Fatalf("register version %d of %d, %d carriers tracked", ri.Version, ri.Count, len(v.vault.Carriers()))
	}
	if len(v.vsink.states["JM-2026-0001-02"]) == 0 {
		t.Fatal("a copy's state not published")
	}
	rc.EPCs, rc.DocNumber = []string{"300833B2DDD9014000000201"}, "市委办〔2026〕13号"
	if copies, err := v.room.Receive(rc); err != nil || copies[0].ID != "JM-2026-0002-01" {
		t.Fatalf("the next document: %+v, %v", copies, err)
	}
}

// What a receipt may not be is refused, naming it, and writes nothing.
func TestReceiveRefusals(t *testing.T) {
	v := newVaultRoom(t, carriers)
	good := gateway.Receipt{Source: "市委办公室", DocNumber: "12号", Title: "通知", Class: "secret", Period: gateway.PeriodLong,
		Kind: "document", Home: "safe-a", Custodian: "p-zhang", NeedToKnow: []string{"p-li"}, EPCs: []string{"300833B2DDD9014000000101"}, By: "p-zhang"}
	for _, c := range []struct {
		name, code, contains string
		change               func(*gateway.Receipt)
	}{
		{"a reader not in the register", gateway.EUNKNOWNPERSON, `need_to_know[1]: "p-nobody"`, func(r *gateway.Receipt) { r.NeedToKnow = []string{"p-li", "p-nobody"} }},
		{"no need-to-know list", gateway.EINVALID, "need_to_know", func(r *gateway.Receipt) { r.NeedToKnow = nil }},
		{"a tag in use", gateway.ECONFLICT, "JM-0002's already", func(r *gateway.Receipt) { r.EPCs = []string{"300833B2DDD9014000000002"} }},
		{"one tag for two copies", gateway.ECONFLICT, "epcs[1]", func(r *gateway.Receipt) { r.EPCs = []string{"300833B2DDD9014000000101", "300833B2DDD9014000000101"} }},
		{"a period that is no date", gateway.EINVALID, "period", func(r *gateway.Receipt) { r.Period = "五年" }},
		{"a home that is no safe", gateway.EINVALID, "home", func(r *gateway.Receipt) { r.Home = "drawer" }},
		{"no copy", gateway.EINVALID, "epcs", func(r *gateway.Receipt) { r.EPCs = nil }},
		{"an unknown custodian", gateway.EUNKNOWNPERSON, "custodian", func(r *gateway.Receipt) { r.Custodian = "p-nobody" }},
		{"a class that is none", gateway.EINVALID, "class", func(r *gateway.Receipt) { r.Class = "内部" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := good
			rc.NeedToKnow = append([]string(nil), good.NeedToKnow...)
			c.change(&rc)
			v.log.written()
			_, err := v.room.Receive(rc)
			if gateway.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.contains) {
				t.Fatalf("got %v, want %s naming %q", err, c.code, c.contains)
			}
			if w := v.log.written(); len(w) != 0 || len(v.vault.Carriers()) != 3 {
				t.Fatalf("the refusal wrote %d changes, %d carriers tracked", len(w), len(v.vault.Carriers()))
			}
		})
	}
}

// A carrier reported lost (丢失报告, issue 30, step 5): a priority-1 alarm
// at once, in one change with carrier.lost; the carrier's status frozen
// (a sighting is logged, its status stays lost); an inventory does not
// count it missing; arming is not held by it; a second report is refused.
func TestLossReport(t *testing.T) {
	v := newVaultRoom(t, carriers)
	v.seen("uhf-safes", 1, carriers[0].EPC)
	v.seen("uhf-safes", 1, carriers[2].EPC)
	v.seen("uhf-safes", 2, carriers[1].EPC)
	v.news()
	v.log.written()
	if err := v.vault.ReportLoss("JM-0003", "p-li", "送阅后未归还，遍寻未获"); err != nil {
		t.Fatal(err)
	}
	if w := v.log.written(); len(w) != 1 {
		t.Fatalf("%d changes for a loss report, want one", len(w))
	}
	v.expect("carrier.lost", "alarm.raised")
	a := v.alarm(gateway.AlarmCarrierLost)
	if a.Priority != 1 || a.Device != "JM-0003" || !strings.Contains(a.Detail, "送阅后未归还") {
		t.Fatalf("the alarm %+v", a)
	}
	if v.status("JM-0003") != gateway.CarrierLost || !strings.Contains(string(v.vsink.states["JM-0003"]), `"status":"lost"`) {
		t.Fatalf("status %s, retained %s", v.status("JM-0003"), v.vsink.states["JM-0003"])
	}
	v.seen("uhf-safes", 2, carriers[2].EPC) // seen in the other safe: logged, still lost
	if v.status("JM-0003") != gateway.CarrierLost {
		t.Fatalf("a sighting changed a lost carrier's status to %s", v.status("JM-0003"))
	}
	v.expect("carrier.moved")
	r, err := v.vault.Inventory(gateway.InventoryCommand, "p-li")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range r.Missing {
		if m.Carrier == "JM-0003" {
			t.Fatal("the inventory counts a lost carrier missing")
		}
	}
	for _, reason := range v.vault.Away() {
		if reason.Device == "JM-0003" {
			t.Fatal("a lost carrier holds arming")
		}
	}
	if err := v.vault.ReportLoss("JM-0003", "p-li", "again"); gateway.ErrorCode(err) != gateway.ECONFLICT {
		t.Fatalf("a second report: %v", err)
	}
	if err := v.vault.ReportLoss("JM-9999", "p-li", "?"); gateway.ErrorCode(err) != gateway.ENOTFOUND {
		t.Fatalf("an unknown carrier: %v", err)
	}
}

// A person who keeps carriers is not dropped from the register before
// their carriers are handed over (issue 30, step 6): the replacement is
// refused naming them and their carriers, and changes nothing.
func TestRegisterKeepsCustodians(t *testing.T) {
	v := newVaultRoom(t, carriers)
	var without []gateway.Person
	for _, p := range vaultPeople {
		if p.ID != "p-zhang" {
			without = append(without, p)
		}
	}
	v.log.written()
	err := v.room.ReplaceRegister(gateway.RegisterChange{Name: "personnel", Version: 2, By: "p-li", People: without})
	if gateway.ErrorCode(err) != gateway.ECONFLICT || !strings.Contains(err.Error(), "p-zhang keeps JM-0001, JM-0002") {
		t.Fatalf("dropping a custodian: %v", err)
	}
	if w := v.log.written(); len(w) != 0 {
		t.Fatalf("the refusal wrote %d changes", len(w))
	}
	if err := v.room.ReplaceRegister(gateway.RegisterChange{Name: "personnel", Version: 2, By: "p-li", People: vaultPeople}); err != nil {
		t.Fatalf("a register that keeps every custodian: %v", err)
	}
}

// A receipt whose copies' tags are presented in turn at a reader (issue
// 30, step 1): each unregistered tag read there next is the next copy's,
// a tag read twice counts once, a registered one is not taken; the last
// registers the document as a typed receipt does; a second binding at the
// reader meanwhile is refused.
func TestReceiveBindsTagsAtTheReader(t *testing.T) {
	v := newVaultRoom(t, carriers)
	rc := gateway.Receipt{Source: "市委办公室", DocNumber: "13号", Title: "关于节日值班的通知", Class: "秘密", Period: gateway.PeriodLong,
		Kind: "文件", Home: "safe-a", Custodian: "p-zhang", NeedToKnow: []string{"clerk"}, Copies: 2, BindAt: "uhf-safes", By: "p-zhang"}
	bad := rc
	bad.BindAt = "uhf-nowhere"
	if _, err := v.room.Receive(bad); gateway.ErrorCode(err) != gateway.EINVALID || !strings.Contains(err.Error(), "bind_at") {
		t.Fatalf("a reader the room has not: %v", err)
	}
	if copies, err := v.room.Receive(rc); err != nil || len(copies) != 0 {
		t.Fatalf("binding: %v %v", copies, err)
	}
	v.expect("carrier.binding")
	if _, err := v.room.Receive(rc); gateway.ErrorCode(err) != gateway.ECONFLICT {
		t.Fatalf("a second binding at the reader: %v", err)
	}
	v.seen("uhf-safes", 1, carriers[0].EPC) // registered already: not a copy's
	v.seen("uhf-safes", 1, "300833B2DDD9014000000501")
	v.seen("uhf-safes", 1, "300833B2DDD9014000000501") // read again
	v.expect("carrier.tag_bound")
	v.seen("uhf-safes", 2, "300833B2DDD9014000000502")
	v.expect("carrier.tag_bound", "carrier.received", "carriers.replaced")
	cs := v.vault.Carriers()
	var got []string
	for _, c := range cs {
		if c.DocNumber == "13号" {
			got = append(got, c.ID+"="+c.EPC)
		}
	}
	if strings.Join(got, ",") != "JM-2026-0001-01=300833B2DDD9014000000501,JM-2026-0001-02=300833B2DDD9014000000502" {
		t.Fatalf("copies %v", got)
	}
	v.seen("uhf-safes", 1, "300833B2DDD9014000000503") // no binding now: an unknown tag
	v.expect()
}
