package room_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/schemas"
)

// received registers a 机密 document of n copies, readable by p-li and the
// clerks, kept in safe A by p-zhang, each copy seen at home.
func (v *vaultRoom) received(n int) []gateway.Carrier {
	v.t.Helper()
	rc := gateway.Receipt{Source: "市委办公室", DocNumber: "市委办〔2026〕12号", Title: "关于年终检查的通知", Class: "机密", Period: "2031-12-31",
		Kind: "文件", Home: "safe-a", Custodian: "p-zhang", NeedToKnow: []string{"p-li", "clerk"}, By: "p-zhang"}
	for i := range n {
		rc.EPCs = append(rc.EPCs, fmt.Sprintf("300833B2DDD90140000001%02d", i+1))
	}
	copies, err := v.room.Receive(rc)
	if err != nil {
		v.t.Fatal(err)
	}
	for _, c := range copies {
		v.seen("uhf-safes", 1, c.EPC)
	}
	v.news()
	v.log.written()
	return copies
}

// retained returns a carrier's retained state, checked against its schema.
func (v *vaultRoom) retained(id string) map[string]any {
	v.t.Helper()
	b := v.vsink.states[id]
	if err := schemas.ValidateJSON("carrier-state", b); err != nil {
		v.t.Fatalf("retained state of %s: %v\n%s", id, err, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		v.t.Fatal(err)
	}
	return m
}

// refused checks an error's code and words, and that nothing was written.
func (v *vaultRoom) refused(what string, err error, code, contains string) {
	v.t.Helper()
	if gateway.ErrorCode(err) != code || !strings.Contains(fmt.Sprint(err), contains) {
		v.t.Fatalf("%s: %v, want %s naming %q", what, err, code, contains)
	}
	if w := v.log.written(); len(w) != 0 {
		v.t.Fatalf("%s: the refusal wrote %d changes", what, len(w))
	}
}

// A destruction (销毁, issue 30 step 4): a leader's approval and two
// witnesses, each through their own channel (a signed session, a badge at
// the room's reader), the last confirmation destroying the carriers in
// one change with the destruction list; what the practice forbids is
// refused naming why and changes nothing; a destroyed tag seen again is a
// priority-1 alarm; an ended carrier holds neither arming nor an
// inventory, and may leave the register, a live one may not.
func TestDestruction(t *testing.T) {
	v := newVaultRoom(t, carriers)
	copies := v.received(3)
	id := copies[1].ID
	good := gateway.EndRequest{Carriers: []string{id}, Method: "shredder", Approver: "p-boss", Witnesses: []string{"p-li", "p-zhao"}, By: "p-zhang", Via: "console/s1"}
	v.log.written()
	for _, c := range []struct {
		name, code, contains string
		change               func(*gateway.EndRequest)
	}{
		{"one witness", gateway.EINVALID, "two witnesses", func(r *gateway.EndRequest) { r.Witnesses = []string{"p-li"} }},
		{"no approval", gateway.EINVALID, "a leader approves", func(r *gateway.EndRequest) { r.Approver = "" }},
		{"an approver who is no leader", gateway.ENOTALLOWED, "is a security-officer", func(r *gateway.EndRequest) { r.Approver = "p-li"; r.Witnesses = []string{"p-boss", "p-zhao"} }},
		{"the destroyer as witness", gateway.ESAMEPERSON, "cannot witness", func(r *gateway.EndRequest) { r.Witnesses = []string{"p-zhang", "p-li"} }},
		{"one witness twice", gateway.ESAMEPERSON, "two people", func(r *gateway.EndRequest) { r.Witnesses = []string{"p-li", "p-li"} }},
		{"a witness not cleared", gateway.EINVALID, "may not take a secret", func(r *gateway.EndRequest) { r.Witnesses = []string{"p-li", "p-wang"} }},
		{"paper degaussed", gateway.EINVALID, "消磁", func(r *gateway.EndRequest) { r.Method = "degauss" }},
		{"no carrier", gateway.EINVALID, "carriers", func(r *gateway.EndRequest) { r.Carriers = nil }},
		{"an unknown carrier", gateway.ENOTFOUND, "JM-9", func(r *gateway.EndRequest) { r.Carriers = []string{"JM-9"} }},
	} {
		r := good
		c.change(&r)
		_, err := v.vault.End("carrier/destroy", r)
		v.refused(c.name, err, c.code, c.contains)
	}
	if _, err := v.vault.SignOut(gateway.SignOutRequest{Carrier: copies[2].ID, Borrower: "p-zhao", Purpose: "阅", By: "p-zhang"}); err != nil {
		t.Fatal(err)
	}
	v.news()
	v.log.written()
	r := good
	r.Carriers = []string{id, copies[2].ID}
	_, err := v.vault.End("carrier/destroy", r)
	v.refused("a copy signed out", err, gateway.ECONFLICT, "returned first")

	p, err := v.vault.End("carrier/destroy", good)
	if err != nil {
		t.Fatal(err)
	}
	if p.Done || strings.Join(p.Waiting(), ",") != "p-boss,p-li,p-zhao" || len(v.log.written()) != 1 {
		t.Fatalf("the destruction asked: %+v", p)
	}
	v.expect("carrier.step_asked")
	if pend, _ := v.retained(id)["pending"].(map[string]any); pend["op"] != "carrier/destroy" || len(pend["waiting_for"].([]any)) != 3 {
		t.Fatalf("the retained state does not show the step waiting: %v", v.retained(id))
	}
	_, err = v.vault.End("carrier/destroy", good)
	v.refused("a second destruction of it", err, gateway.ECONFLICT, "waits on step")
	_, err = v.vault.SignOut(gateway.SignOutRequest{Carrier: id, Borrower: "p-zhao", Purpose: "阅", By: "p-zhang"})
	v.refused("a loan while it waits", err, gateway.ECONFLICT, "waits on step")

	_, err = v.vault.Approve(id, "p-boss", "console/s1")
	v.refused("the leader through the asker's channel", err, gateway.ESAMEPERSON, "own session")
	_, err = v.vault.Confirm(p.ID, "", "p-wang", "console/s7")
	v.refused("a person the step does not name", err, gateway.ENOTALLOWED, "waits for")
	if l, err := v.vault.Approve(id, "p-boss", "console/s2"); err != nil || l.Step == nil || l.Step.Done {
		t.Fatalf("the leader's approval: %+v %v", l, err)
	}
	v.log.written()
	_, err = v.vault.Confirm(p.ID, "", "p-li", "console/s2")
	v.refused("a witness through the leader's channel", err, gateway.ESAMEPERSON, "p-boss confirmed through")
	v.room.Badge("reader-out", "04A224E2", v.clock.Now()) // p-li, present at the door
	v.expect("carrier.confirmed", "output.on", "access.granted", "carrier.confirmed")
	if d := v.lastData("carrier.confirmed"); d["person"] != "p-li" || d["via"] != "badge" || d["as"] != "witness" {
		t.Fatalf("the badge confirmation %v", d)
	}
	v.log.written()
	done, err := v.vault.Confirm("", id, "p-zhao", "console/s3")
	if err != nil || !done.Done || !strings.HasPrefix(done.Ref, "XH-") {
		t.Fatalf("the last witness: %+v %v", done, err)
	}
	if w := v.log.written(); len(w) != 1 {
		t.Fatalf("%d changes for the last confirmation, want one", len(w))
	}
	v.expect("carrier.confirmed", "carrier.destroyed")
	d := v.lastData("carrier.destroyed")
	if d["list"] != done.Ref || d["method"] != "shredder" || d["approver"] != "p-boss" || fmt.Sprint(d["witnesses"]) != "[p-li p-zhao]" || d["document"] != copies[1].Document {
		t.Fatalf("carrier.destroyed %v", d)
	}
	st := v.retained(id)
	if st["status"] != "destroyed" || st["ended"].(map[string]any)["ref"] != done.Ref || st["pending"] != nil {
		t.Fatalf("retained %v", st)
	}
	_, err = v.vault.End("carrier/destroy", good)
	v.refused("destroying it twice", err, gateway.ECONFLICT, "has ended")
	_, err = v.vault.SignOut(gateway.SignOutRequest{Carrier: id, Borrower: "p-zhao", Purpose: "阅", By: "p-zhang"})
	v.refused("lending a destroyed carrier", err, gateway.ECONFLICT, "has ended")

	// Its tag seen again: the alarm, once for that place.
	v.seen("uhf-safes", 1, copies[1].EPC)
	v.expect("carrier.moved", "carrier.resurrected", "alarm.raised")
	if a := v.alarm(gateway.AlarmResurrected); a.Priority != 1 || a.Device != id || !strings.Contains(a.Detail, "destroyed") {
		t.Fatalf("alarm %+v", a)
	}
	v.seen("uhf-safes", 1, copies[1].EPC)
	v.expect()
	if v.status(id) != gateway.CarrierDestroyed {
		t.Fatalf("a sighting changed a destroyed carrier to %s", v.status(id))
	}
	for _, a := range v.vault.Away() {
		if a.Device == id {
			t.Fatalf("a destroyed carrier holds arming: %v", a)
		}
	}
	rep, err := v.vault.Inventory(gateway.InventoryCommand, "p-li")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range append(rep.Missing, rep.Unexpected...) {
		if m.Carrier == id {
			t.Fatalf("the inventory counts a destroyed carrier: %+v", m)
		}
	}

	// The register may drop it; never a carrier still in the room.
	var keep []gateway.Carrier
	for _, c := range v.vault.Carriers() {
		if c.ID != id && c.ID != "JM-0003" {
			keep = append(keep, c)
		}
	}
	v.log.written()
	err = v.room.ReplaceRegister(gateway.RegisterChange{Name: "carriers", Version: 10, By: "p-li", Carriers: keep})
	v.refused("a register that drops a live carrier", err, gateway.ECONFLICT, "JM-0003 (")
	if strings.Contains(err.Error(), id) {
		t.Fatalf("the refusal names the destroyed carrier too: %v", err)
	}
	if _, err := v.vault.Return(copies[2].ID, "p-zhang", ""); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, carriers[2])
	if err := v.room.ReplaceRegister(gateway.RegisterChange{Name: "carriers", Version: 10, By: "p-li", Carriers: keep}); err != nil {
		t.Fatalf("a register without the destroyed carrier: %v", err)
	}
}

// Archived (归档) and returned to the issuer (清退): the clerk's, at once,
// one change each; the issuer defaults to the document's source.
func TestArchiveAndReturnToIssuer(t *testing.T) {
	v := newVaultRoom(t, carriers)
	copies := v.received(2)
	_, err := v.vault.End("carrier/archive", gateway.EndRequest{Carriers: []string{copies[0].ID}, By: "p-zhang"})
	v.refused("an archive with no archives", err, gateway.EINVALID, "to:")
	p, err := v.vault.End("carrier/archive", gateway.EndRequest{Carriers: []string{copies[0].ID}, To: "市档案馆", Ref: "2026-永久-0031", By: "p-zhang"})
	if err != nil || !p.Done || p.Ref != "2026-永久-0031" || len(v.log.written()) != 1 {
		t.Fatalf("archive: %+v %v", p, err)
	}
	v.expect("carrier.archived")
	if d := v.lastData("carrier.archived"); d["to"] != "市档案馆" || d["ref"] != "2026-永久-0031" {
		t.Fatalf("carrier.archived %v", d)
	}
	if _, err := v.vault.End("carrier/return-to-issuer", gateway.EndRequest{Carriers: []string{copies[1].ID}, By: "p-zhang"}); err != nil {
		t.Fatal(err)
	}
	v.expect("carrier.returned_to_issuer")
	if d := v.lastData("carrier.returned_to_issuer"); d["to"] != "市委办公室" {
		t.Fatalf("carrier.returned_to_issuer %v", d)
	}
	if v.status(copies[0].ID) != gateway.CarrierArchived || v.status(copies[1].ID) != gateway.CarrierReturnedUp {
		t.Fatalf("statuses %s %s", v.status(copies[0].ID), v.status(copies[1].ID))
	}
	_ = v.retained(copies[1].ID)
	v.log.written()
	if err := v.vault.ReportLoss(copies[0].ID, "p-zhang", "找不到"); gateway.ErrorCode(err) != gateway.ECONFLICT {
		t.Fatalf("a loss of an archived carrier: %v", err)
	}
}

// Circulation (传阅, issue 30 step 2): only to a reader on the copy's
// need-to-know list, confirmed by the reader through their own channel,
// one reader at a time, within the circulation limit; overdue raises the
// overdue alarm; its return is confirmed by the reader too. Read in the
// room, it may not pass the door.
func TestCirculation(t *testing.T) {
	v := newVaultRoom(t, carriers)
	copies := v.received(2)
	id := copies[0].ID
	req := gateway.CirculateRequest{Carrier: id, Reader: "p-li", By: "p-zhang", Via: "console/s1"}
	for _, c := range []struct {
		name, code, contains string
		change               func(*gateway.CirculateRequest)
	}{
		{"a reader not on the list", gateway.ENOTALLOWED, "need-to-know", func(r *gateway.CirculateRequest) { r.Reader = "p-boss" }},
		{"a reader on the list not cleared", gateway.EINVALID, "may not take", func(r *gateway.CirculateRequest) { r.Reader = "p-day" }},
		{"a reader on the list not valid today", gateway.EINVALID, "not valid today", func(r *gateway.CirculateRequest) { r.Reader = "p-old" }},
		{"the clerk to themselves", gateway.ESAMEPERSON, "not its reader", func(r *gateway.CirculateRequest) { r.Reader = "p-zhang" }},
		{"a carrier with no list", gateway.ENOTALLOWED, "no need-to-know list", func(r *gateway.CirculateRequest) { r.Carrier = "JM-0001" }},
		{"past the limit", gateway.EINVALID, "circulation limit", func(r *gateway.CirculateRequest) { r.Due = v.clock.Now().Add(72 * time.Hour) }},
	} {
		r := req
		c.change(&r)
		_, err := v.vault.Circulate(r)
		v.refused(c.name, err, c.code, c.contains)
	}
	p, err := v.vault.Circulate(req)
	if err != nil || p.Done || strings.Join(p.Waiting(), ",") != "p-li" {
		t.Fatalf("circulate: %+v %v", p, err)
	}
	v.log.written()
	_, err = v.vault.Circulate(gateway.CirculateRequest{Carrier: id, Reader: "p-zhao", By: "p-zhang"})
	v.refused("a second circulation while the first waits", err, gateway.ECONFLICT, "waits on step")
	_, err = v.vault.Confirm(p.ID, "", "p-li", "console/s1")
	v.refused("the reader through the clerk's channel", err, gateway.ESAMEPERSON, "own session")
	got, err := v.vault.Confirm(p.ID, "", "p-li", "console/s5")
	if err != nil || !got.Done {
		t.Fatalf("the reader's receipt: %+v %v", got, err)
	}
	v.expect("carrier.step_asked", "carrier.confirmed", "carrier.circulated")
	if v.status(id) != gateway.CarrierCirculating {
		t.Fatalf("status %s", v.status(id))
	}
	if so := v.retained(id)["sign_out"].(map[string]any); so["kind"] != "circulation" || so["borrower"] != "p-li" || so["may_leave"] != true {
		t.Fatalf("retained sign-out %v", so)
	}
	v.log.written()
	_, err = v.vault.Circulate(gateway.CirculateRequest{Carrier: id, Reader: "p-zhao", By: "p-zhang"})
	v.refused("a second circulation of a copy out", err, gateway.ECONFLICT, "returned first")
	v.seen("uhf-gate", 1, copies[0].EPC) // it goes to the reader's office
	v.expect("carrier.moved", "carrier.gate")

	v.clock.Advance(config48h + time.Minute)
	if n := strings.Join(v.news(), " "); !strings.Contains(n, "carrier.overdue alarm.raised") {
		t.Fatalf("events %q, want the overdue alarm", n)
	}
	v.log.written()
	if a := v.alarm(gateway.AlarmCarrierOverdue); a.Device != id {
		t.Fatalf("alarm %+v", a)
	}
	_, err = v.vault.Return(id, "p-li", "console/s5")
	v.refused("the reader taking back their own copy", err, gateway.ESAMEPERSON, "not by its reader")
	back, err := v.vault.Return(id, "p-zhang", "console/s1")
	if err != nil || !back.IsWaiting() || back.Waiting != "p-li" {
		t.Fatalf("return asked: %+v %v", back, err)
	}
	v.expect("carrier.step_asked")
	v.room.Badge("reader-out", "04A224E2", v.clock.Now()) // the reader brings it back
	v.expect("output.on", "access.granted", "carrier.confirmed", "carrier.returned", "alarm.restored")
	if d := v.lastData("carrier.returned"); d["kind"] != "circulation" || d["confirmed_via"] != "badge" || d["late"] != true {
		t.Fatalf("carrier.returned %v", d)
	}

	// Read in the room: it may not leave.
	p, err = v.vault.Circulate(gateway.CirculateRequest{Carrier: copies[1].ID, Reader: "p-zhao", InRoom: true, By: "p-zhang"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.vault.Confirm(p.ID, "", "p-zhao", "console/s6"); err != nil {
		t.Fatal(err)
	}
	v.news()
	v.seen("uhf-gate", 1, copies[1].EPC)
	v.expect("carrier.moved", "carrier.removal", "alarm.raised", "output.on")
}

const config48h = 48 * time.Hour

// A copy (复印、摘抄审批, step 3): refused without a leader; the leader's
// own approval receives the new copies as copies of the document, with
// the approver, in one change with the register's new version.
func TestCopyApproval(t *testing.T) {
	v := newVaultRoom(t, carriers)
	copies := v.received(3)
	req := gateway.CopyRequest{Carrier: copies[0].ID, EPCs: []string{"300833B2DDD9014000000201"}, Purpose: "分送县局", Approver: "p-boss", By: "p-zhang", Via: "console/s1"}
	for _, c := range []struct {
		name, code, contains string
		change               func(*gateway.CopyRequest)
	}{
		{"no approval", gateway.EINVALID, "a leader approves", func(r *gateway.CopyRequest) { r.Approver = "" }},
		{"an officer's approval", gateway.ENOTALLOWED, "a leader approves", func(r *gateway.CopyRequest) { r.Approver = "p-li" }},
		{"a carrier no document", gateway.EINVALID, "not a copy of a document", func(r *gateway.CopyRequest) { r.Carrier = "JM-0001" }},
		{"no tag", gateway.EINVALID, "epcs", func(r *gateway.CopyRequest) { r.EPCs = nil }},
	} {
		r := req
		c.change(&r)
		_, err := v.room.Copy(r)
		v.refused(c.name, err, c.code, c.contains)
	}
	p, err := v.room.Copy(req)
	if err != nil || p.Done {
		t.Fatalf("copy asked: %+v %v", p, err)
	}
	v.log.written()
	l, err := v.vault.Approve(copies[0].ID, "p-boss", "console/s2")
	if err != nil || l.Step == nil || !l.Step.Done || l.Step.Ref != copies[0].Document {
		t.Fatalf("the leader's approval: %+v %v", l, err)
	}
	if w := v.log.written(); len(w) != 1 || len(w[0].Registers) != 1 {
		t.Fatalf("the approval wrote %d changes, want one with the register", len(w))
	}
	v.expect("carrier.step_asked", "carrier.confirmed", "carrier.copied", "carriers.replaced")
	d := v.lastData("carrier.copied")
	if d["approver"] != "p-boss" || fmt.Sprint(d["copies"]) != "["+copies[0].Document+"-04]" {
		t.Fatalf("carrier.copied %v", d)
	}
	all := v.vault.Carriers()
	n := 0
	for _, c := range all {
		if c.Document == copies[0].Document {
			n++
			if c.Copies != 4 {
				t.Fatalf("%s says %d copies, want 4", c.ID, c.Copies)
			}
		}
	}
	if n != 4 {
		t.Fatalf("%d copies of the document, want 4", n)
	}
}

// A custody transfer (移交, step 6): listed when asked, confirmed by the
// outgoing and the incoming custodian through their own channels; the
// register names the new custodian in the change of the last one; a
// transfer to the same person or to one not cleared is refused.
func TestCustodyTransfer(t *testing.T) {
	v := newVaultRoom(t, carriers)
	v.received(1)
	_, err := v.room.Transfer(gateway.TransferRequest{From: "p-zhang", To: "p-zhang", By: "p-li"})
	v.refused("a transfer to the same person", err, gateway.ESAMEPERSON, "another person")
	_, err = v.room.Transfer(gateway.TransferRequest{From: "p-zhang", To: "p-wang", By: "p-li"})
	v.refused("a new custodian not cleared", err, gateway.EINVALID, "may not take")
	_, err = v.room.Transfer(gateway.TransferRequest{From: "p-boss", To: "p-zhao", By: "p-li"})
	v.refused("one who keeps nothing", err, gateway.ECONFLICT, "keeps no carriers")
	p, err := v.room.Transfer(gateway.TransferRequest{From: "p-zhang", To: "p-zhao", By: "p-li", Via: "console/s1"})
	if err != nil || strings.Join(p.Carriers, ",") != "JM-0001,JM-0002,JM-2026-0001-01" || strings.Join(p.Waiting(), ",") != "p-zhang,p-zhao" {
		t.Fatalf("transfer asked: %+v %v", p, err)
	}
	if _, err := v.vault.Confirm(p.ID, "", "p-zhang", "console/s2"); err != nil {
		t.Fatal(err)
	}
	for _, c := range v.vault.Carriers() {
		if c.ID == "JM-0001" && c.Custodian != "p-zhang" {
			t.Fatal("the custody moved before the incoming custodian confirmed")
		}
	}
	v.log.written()
	if p, err := v.vault.Confirm(p.ID, "", "p-zhao", "console/s3"); err != nil || !p.Done {
		t.Fatalf("the incoming custodian: %+v %v", p, err)
	}
	if w := v.log.written(); len(w) != 1 || len(w[0].Registers) != 1 {
		t.Fatalf("%d changes, want one with the register", len(w))
	}
	v.expect("carrier.step_asked", "carrier.confirmed", "carrier.confirmed", "custody.transferred", "carriers.replaced")
	for _, c := range v.vault.Carriers() {
		if c.Custodian == "p-zhang" {
			t.Fatalf("%s still kept by p-zhang", c.ID)
		}
	}
}

// A step nobody confirms ends after its window, logged; its carriers are
// free again.
func TestStepExpires(t *testing.T) {
	v := newVaultRoom(t, carriers)
	copies := v.received(1)
	p, err := v.vault.Circulate(gateway.CirculateRequest{Carrier: copies[0].ID, Reader: "p-li", By: "p-zhang"})
	if err != nil {
		t.Fatal(err)
	}
	v.news()
	v.clock.Advance(gateway.StepWindow)
	if n := v.news(); n[len(n)-1] != "carrier.step_expired" {
		t.Fatalf("events %q, want the step expired", n)
	}
	if _, err := v.vault.Confirm(p.ID, "", "p-li", "console/s5"); gateway.ErrorCode(err) != gateway.ENOTFOUND {
		t.Fatalf("a confirmation after the window: %v", err)
	}
	if _, ok := v.retained(copies[0].ID)["pending"]; ok {
		t.Fatal("the retained state still shows the step")
	}
	if _, err := v.vault.Circulate(gateway.CirculateRequest{Carrier: copies[0].ID, Reader: "p-li", By: "p-zhang"}); err != nil {
		t.Fatalf("the copy is not free again: %v", err)
	}
}

// A carrier an inventory found missing and not found within the office's
// grace (carriers.loss_grace, 24 h) is reported lost by the room (step
// 5): carrier.lost by "gateway" and the carrier-lost alarm; the grace
// survives a restart; a carrier found within it is not reported.
func TestMissingBecomesLostAfterGrace(t *testing.T) {
	v := newVaultRoom(t, carriers)
	v.seen("uhf-safes", 1, carriers[0].EPC)
	v.seen("uhf-safes", 1, carriers[2].EPC) // JM-0002, in safe B, is not read
	if _, err := v.vault.Inventory(gateway.InventoryCommand, "p-li"); err != nil {
		t.Fatal(err)
	}
	if v.status("JM-0002") != gateway.CarrierMissing || v.retained("JM-0002")["missing_since"] == nil {
		t.Fatalf("status %s, retained %v", v.status("JM-0002"), v.retained("JM-0002"))
	}
	if _, err := v.vault.Inventory(gateway.InventoryCommand, "p-li"); err != nil { // still missing: the grace runs from the first
		t.Fatal(err)
	}
	v.news()
	v.clock.Advance(20 * time.Hour)
	if n := strings.Join(v.news(), " "); strings.Contains(n, "carrier.lost") {
		t.Fatalf("reported lost within its grace: %s", n)
	}
	v.crash()
	v.open()
	v.news()
	v.clock.Advance(4*time.Hour + time.Second)
	if n := strings.Join(v.news(), " "); !strings.Contains(n, "carrier.lost alarm.raised") {
		t.Fatalf("events %q, want the loss at the end of the grace", n)
	}
	if d := v.lastData("carrier.lost"); d["by"] != "gateway" || !strings.Contains(d["detail"].(string), "24h") {
		t.Fatalf("carrier.lost %v", d)
	}
	if a := v.alarm(gateway.AlarmCarrierLost); a.Device != "JM-0002" || a.Priority != 1 {
		t.Fatalf("alarm %+v", a)
	}

	// Found within its grace: never reported.
	w := newVaultRoom(t, carriers)
	w.seen("uhf-safes", 1, carriers[0].EPC)
	w.seen("uhf-safes", 1, carriers[2].EPC)
	if _, err := w.vault.Inventory(gateway.InventoryCommand, "p-li"); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(2 * time.Hour)
	w.seen("uhf-safes", 2, carriers[1].EPC)
	w.clock.Advance(23 * time.Hour)
	if n := strings.Join(w.news(), " "); strings.Contains(n, "carrier.lost") || w.status("JM-0002") == gateway.CarrierLost {
		t.Fatalf("a carrier found within its grace: %s, status %s", n, w.status("JM-0002"))
	}
}
