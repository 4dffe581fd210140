package room_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/room"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

// vaultRoom is the entry room plus carrier tracking: two safes on the
// antennas of one reader, and a gate reader at the door.
type vaultRoom struct {
	*entry
}

type vaultSink struct {
	states  map[string][]byte
	reports int
}

func (s *vaultSink) CarrierState(id string, p []byte)    { s.states[id] = p }
func (s *vaultSink) InventoryReport(id string, p []byte) { s.reports++ }

var vaultPeople = append(append([]gateway.Person(nil), people...),
	gateway.Person{ID: "p-zhao", Name: "赵核", Cards: []string{"5555555555"}, Level: gateway.LevelCore, Role: gateway.RoleClerk, Rooms: []string{"*"}},
	gateway.Person{ID: "p-boss", Name: "钱领", Cards: []string{"6666666666"}, Level: gateway.LevelCore, Role: gateway.RoleLeader, Rooms: []string{"*"}})

var carriers = []gateway.Carrier{
	{ID: "JM-0001", EPC: "300833B2DDD9014000000001", Title: "年度工作要点", Class: gateway.Secret, Kind: "document", Home: "safe-a", Custodian: "p-zhang"},
	{ID: "JM-0002", EPC: "300833B2DDD9014000000002", Title: "密码电报 第7号", Class: gateway.TopSecret, Kind: "telegram", Home: "safe-b", Custodian: "p-zhang"},
	{ID: "JM-0003", EPC: "300833B2DDD9014000000003", Title: "涉密U盘 03", Class: gateway.Confidential, Kind: "usb", Home: "safe-a", Custodian: "p-li"},
}

func newVaultRoom(t testing.TB, cs []gateway.Carrier) *vaultRoom {
	cfg := config.DefaultVault()
	cfg.Antennas = map[gateway.Antenna]gateway.Location{
		{Reader: "uhf-safes", Antenna: 1}: {Kind: gateway.LocSafe, ID: "safe-a"},
		{Reader: "uhf-safes", Antenna: 2}: {Kind: gateway.LocSafe, ID: "safe-b"},
		{Reader: "uhf-gate", Antenna: 1}:  {Kind: gateway.LocGate, ID: "door-main"},
	}
	seed := func(s *sqlite.Store) {
		seedPeople(vaultPeople)(s)
		if _, err := s.ReplaceCarriers(cs, 1, "sec-officer", t0); err != nil {
			panic(err)
		}
	}
	return &vaultRoom{&entry{openRoom(t, spec{access: withDoor(config.DefaultAccess()), vault: &cfg, seed: seed})}}
}

func (v *vaultRoom) seen(reader string, antenna int, epc string) {
	v.t.Helper()
	if err := v.vault.Seen(reader, antenna, epc, v.clock.Now()); err != nil {
		v.t.Fatal(err)
	}
}

func (v *vaultRoom) status(id string) gateway.CarrierStatus {
	st, _ := v.vault.State(id)
	return st.Status
}

// Where each carrier is: at home while seen in its safe, misplaced in the
// other, away after the departure threshold unseen — which refuses arming —
// and home again when it is back.
func TestCarrierPresence(t *testing.T) {
	v := newVaultRoom(t, carriers)
	v.seen("uhf-safes", 1, carriers[0].EPC)
	v.seen("uhf-safes", 1, carriers[2].EPC)
	v.seen("uhf-safes", 2, carriers[1].EPC)
	v.expect() // all where they belong: nothing to say
	v.clock.Advance(4 * time.Minute)
	v.seen("uhf-safes", 1, carriers[0].EPC)
	v.seen("uhf-safes", 1, carriers[2].EPC)
	v.clock.Advance(2 * time.Minute) // JM-0002 unseen for 6 min
	v.expect("carrier.away")
	if v.status("JM-0002") != gateway.CarrierAway {
		t.Fatalf("status %s", v.status("JM-0002"))
	}
	err := v.panel.Arm("p-li")
	var ref *gateway.RefusedError
	if !errors.As(err, &ref) || !strings.Contains(fmt.Sprint(ref.Reasons), "carrier-away JM-0002") {
		t.Fatalf("arming with a carrier away: %v", err)
	}
	v.news()
	v.seen("uhf-safes", 1, carriers[1].EPC) // in safe A: the wrong safe
	v.expect("carrier.moved", "carrier.misplaced")
	v.seen("uhf-safes", 2, carriers[1].EPC)
	v.expect("carrier.moved", "carrier.home")
	if v.status("JM-0002") != gateway.CarrierHome || len(v.vault.Away()) != 0 {
		t.Fatalf("status %s, away %v", v.status("JM-0002"), v.vault.Away())
	}
	if !strings.Contains(string(v.vsink.states["JM-0002"]), `"status":"home"`) {
		t.Fatalf("retained state %s", v.vsink.states["JM-0002"])
	}
	if err := v.vault.Seen("uhf-nowhere", 1, carriers[0].EPC, v.clock.Now()); gateway.ErrorCode(err) != gateway.ENOTFOUND {
		t.Fatalf("unknown reader: %v", err)
	}
}

// A carrier read at the gate without a sign-out that lets it leave: the
// critical alarm names it and who is inside; the same passage read again is
// not a second alarm; back in its safe the alarm is restored.
func TestUnauthorizedRemoval(t *testing.T) {
	v := newVaultRoom(t, carriers)
	v.pass("reader-out", "62E3086CED") // 张伟 enters
	v.news()
	v.seen("uhf-gate", 1, carriers[0].EPC)
	v.expect("carrier.moved", "carrier.removal", "alarm.raised", "output.on") // the removal alarm sounds the siren
	a := v.alarm(gateway.AlarmCarrierRemoval)
	if a.Device != "JM-0001" || !strings.Contains(a.Detail, "张伟") || !strings.Contains(a.Detail, "年度工作要点") {
		t.Fatalf("alarm %+v", a)
	}
	v.clock.Advance(2 * time.Second)
	v.seen("uhf-gate", 1, carriers[0].EPC)
	v.expect()
	v.seen("uhf-safes", 1, carriers[0].EPC)
	v.expect("carrier.moved", "alarm.restored")
}

// Sign-out and return: the rules refuse with a clear error and change
// nothing; a loan is due at the end of the working day and then overdue; a
// carrier signed out to leave passes the gate; top secret needs two people.
func TestSignOutAndReturn(t *testing.T) {
	v := newVaultRoom(t, carriers)
	req := func(r gateway.SignOutRequest) gateway.SignOutRequest {
		if r.Purpose == "" {
			r.Purpose = "起草报告"
		}
		if r.By == "" {
			r.By = "p-li"
		}
		return r
	}
	for _, c := range []struct {
		r    gateway.SignOutRequest
		code string
		msg  string
	}{
		{req(gateway.SignOutRequest{Carrier: "JM-9999", Borrower: "p-zhang"}), gateway.ENOTFOUND, "no carrier"},
		{req(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-nobody"}), gateway.ENOTFOUND, "no person"},
		{req(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-wang"}), gateway.EINVALID, "may not take a secret (机密)"},
		{req(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-old"}), gateway.EINVALID, "not valid today"},
		{req(gateway.SignOutRequest{Carrier: "JM-0002", Borrower: "p-zhang"}), gateway.EINVALID, "two people"},
		{req(gateway.SignOutRequest{Carrier: "JM-0002", Borrower: "p-zhang", Second: "p-li"}), gateway.EINVALID, "second: 李娜"},
		{req(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-zhang", MayLeave: true}), gateway.EINVALID, "approver: needed"},
		{req(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-zhang", MayLeave: true, Approver: "p-zhang"}), gateway.EINVALID, "own loan"},
		{req(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-zhang", MayLeave: true, Approver: "p-wang"}), gateway.EINVALID, "a security officer or a leader"},
		{req(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-zhang", Due: t0.Add(72 * time.Hour)}), gateway.EINVALID, "more than 48h"},
		{req(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-zhang", Purpose: " "}), gateway.EINVALID, "purpose"},
	} {
		if c.r.Purpose == " " {
			c.r.Purpose = ""
		}
		_, err := v.vault.SignOut(c.r)
		if gateway.ErrorCode(err) != c.code || !strings.Contains(fmt.Sprint(err), c.msg) {
			t.Errorf("%+v: %v, want %s %q", c.r, err, c.code, c.msg)
		}
	}
	v.expect() // nothing changed
	if len(v.vault.Loans()) != 0 {
		t.Fatal("a refused sign-out left a loan")
	}

	// In-room use, due at 18:00 today.
	l, err := v.vault.SignOut(req(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-zhang"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 22, 18, 0, 0, 0, t0.Location()); !l.Due.Equal(want) {
		t.Fatalf("due %v, want %v", l.Due, want)
	}
	v.expect("carrier.signed_out")
	if _, err := v.vault.SignOut(req(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-li"})); gateway.ErrorCode(err) != gateway.ECONFLICT {
		t.Fatalf("signed out twice: %v", err)
	}
	// In-room use only: at the gate it is an unauthorized removal.
	v.seen("uhf-gate", 1, carriers[0].EPC)
	v.expect("carrier.moved", "carrier.removal", "alarm.raised", "output.on") // the removal alarm sounds the siren
	v.seen("uhf-safes", 1, carriers[0].EPC)
	v.news()

	// Past 18:00: overdue.
	v.clock.Advance(time.Date(2026, 11, 22, 18, 0, 1, 0, t0.Location()).Sub(v.clock.Now()))
	news := strings.Join(v.news(), " ")
	if !strings.Contains(news, "carrier.overdue alarm.raised") {
		t.Fatalf("events %s", news)
	}
	v.alarm(gateway.AlarmCarrierOverdue)
	if _, err := v.vault.Return("JM-0003", "p-li", ""); gateway.ErrorCode(err) != gateway.ECONFLICT {
		t.Fatalf("returning what is not out: %v", err)
	}
	back, err := v.vault.Return("JM-0001", "p-li", "")
	if err != nil || back.ReturnedBy != "p-li" {
		t.Fatalf("return: %+v %v", back, err)
	}
	news = strings.Join(v.news(), " ")
	if !strings.HasPrefix(news, "carrier.returned") || !strings.Contains(news, "alarm.restored") {
		t.Fatalf("events %s", news)
	}

	// Top secret by two core people, allowed to leave with a leader's approval.
	asked, err := v.vault.SignOut(req(gateway.SignOutRequest{Carrier: "JM-0002", Borrower: "p-zhang", Second: "p-zhao",
		MayLeave: true, Approver: "p-boss", Due: v.clock.Now().Add(24 * time.Hour), Via: "console/s1"}))
	if err != nil {
		t.Fatal(err)
	}
	// Issue 17: top secret is two people through two channels: the second
	// person confirms with their own signature, which makes it a loan.
	if !asked.IsWaiting() || asked.Waiting != "p-zhao" {
		t.Fatalf("a top-secret sign-out is a loan at once: %+v", asked)
	}
	if _, err := v.vault.Approve("JM-0002", "p-zhao", "console/s1"); gateway.ErrorCode(err) != gateway.ESAMEPERSON {
		t.Fatalf("the second person through the asking channel: %v", err)
	}
	l2, err := v.vault.Approve("JM-0002", "p-zhao", "console/s3")
	if err != nil || l2.IsWaiting() || l2.SecondVia != "console/s3" {
		t.Fatalf("the second person's confirmation: %+v %v", l2, err)
	}
	// Issue 17: the approver confirms with their own signature, through
	// another channel; until then the carrier may not leave.
	if l2.Approved() || !strings.Contains(fmt.Sprint(v.vault.Away()), "JM-0002") {
		t.Fatalf("a sign-out to leave counts before its approval: %+v %v", l2, v.vault.Away())
	}
	if _, err := v.vault.Approve("JM-0002", "p-zhang", "console/s2"); gateway.ErrorCode(err) != gateway.ENOTALLOWED {
		t.Fatalf("approved by the borrower: %v", err)
	}
	if _, err := v.vault.Approve("JM-0002", "p-boss", "console/s1"); gateway.ErrorCode(err) != gateway.ESAMEPERSON {
		t.Fatalf("approved through the sign-out's own channel: %v", err)
	}
	if a, err := v.vault.Approve("JM-0002", "p-boss", "console/s2"); err != nil || !a.Approved() {
		t.Fatalf("the approval: %+v %v", a, err)
	}
	v.news()
	v.seen("uhf-gate", 1, carriers[1].EPC)
	v.expect("carrier.moved", "carrier.gate")
	if strings.Contains(fmt.Sprint(v.vault.Away()), "JM-0002") {
		t.Fatalf("a carrier signed out to leave blocks arming: %v", v.vault.Away())
	}

	// A restart keeps the open loan and its due time.
	v.crash()
	v.open()
	loans := v.vault.Loans()
	if len(loans) != 1 || loans[0].ID != l2.ID || !loans[0].Due.Equal(l2.Due) {
		t.Fatalf("after a restart: %+v", loans)
	}
	if v.status("JM-0002") != gateway.CarrierSignedOut {
		t.Fatalf("status %s", v.status("JM-0002"))
	}
}

// 5,000 tagged carriers across two safes: the inventory finds the missing,
// the misplaced and an unregistered tag, stores and publishes its report.
func TestInventoryOf5000(t *testing.T) {
	cs := manyCarriers(5000)
	v := newVaultRoom(t, cs)
	v.seeAll(cs, map[int]bool{10: true, 20: true, 4000: true}, map[int]bool{30: true, 4001: true})
	v.seen("uhf-safes", 2, "E2000000000000000000ABCD")
	r, err := v.vault.Inventory(gateway.InventoryCommand, "p-li")
	if err != nil {
		t.Fatal(err)
	}
	if r.AllHome || len(r.Missing) != 3 || len(r.Misplaced) != 2 || len(r.Unexpected) != 1 {
		t.Fatalf("missing %v misplaced %v unexpected %v", r.Missing, r.Misplaced, r.Unexpected)
	}
	if r.Missing[0].Carrier != "JM-00010" || r.Misplaced[0].Location != "safe-b" || r.Unexpected[0].EPC != "E2000000000000000000ABCD" {
		t.Fatalf("%+v %+v %+v", r.Missing[0], r.Misplaced[0], r.Unexpected[0])
	}
	if len(r.Safes) != 2 || r.Safes[0].Expected+r.Safes[1].Expected != 5000 || r.Safes[0].Found+r.Safes[1].Found != 4995 {
		t.Fatalf("safes %+v", r.Safes)
	}
	if v.status("JM-00010") != gateway.CarrierMissing {
		t.Fatalf("status %s", v.status("JM-00010"))
	}
	stored, err := v.store.Inventory(r.ID)
	if err != nil || stored == nil || len(stored.Missing) != 3 {
		t.Fatalf("stored %v %v", stored, err)
	}
	news := v.news()
	if news[len(news)-1] != "inventory.completed" || v.vsink.reports != 1 {
		t.Fatalf("events %v, reports %d", news[len(news)-4:], v.vsink.reports)
	}
	if _, err := v.vault.Inventory(gateway.InventoryCommand, ""); gateway.ErrorCode(err) != gateway.EINVALID {
		t.Fatalf("inventory without who: %v", err)
	}
}

func manyCarriers(n int) []gateway.Carrier {
	cs := make([]gateway.Carrier, n)
	for i := range cs {
		home := "safe-a"
		if i%2 == 1 {
			home = "safe-b"
		}
		cs[i] = gateway.Carrier{ID: fmt.Sprintf("JM-%05d", i), EPC: fmt.Sprintf("3008%020X", i), Title: fmt.Sprintf("文件 %d", i),
			Class: gateway.Confidential, Kind: "document", Home: home, Custodian: "p-zhang"}
	}
	return cs
}

// seeAll reads every carrier in its safe, except the missing ones, and the
// misplaced ones in the other safe.
func (v *vaultRoom) seeAll(cs []gateway.Carrier, missing, misplaced map[int]bool) {
	for i, c := range cs {
		ant := 1
		if c.Home == "safe-b" {
			ant = 2
		}
		if misplaced[i] {
			ant = 3 - ant
		}
		if !missing[i] {
			v.seen("uhf-safes", ant, c.EPC)
		}
	}
}

// Reconciling 5,000 carriers seen in two safes (the issue asks ≤ 50 ms).
func BenchmarkInventory5000(b *testing.B) {
	cs := manyCarriers(5000)
	v := newVaultRoom(b, cs)
	v.seeAll(cs, map[int]bool{10: true}, map[int]bool{30: true})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.vault.Inventory(gateway.InventoryCommand, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// An approver extends a loan past its due time: the overdue alarm is
// restored and comes back only at the new due time. The borrower cannot
// extend their own loan; nothing changes on a refusal.
func TestExtendALoan(t *testing.T) {
	v := newVaultRoom(t, carriers)
	if _, err := v.vault.SignOut(gateway.SignOutRequest{Carrier: "JM-0001", Borrower: "p-zhang", Purpose: "起草", By: "p-li"}); err != nil {
		t.Fatal(err)
	}
	v.clock.Advance(time.Date(2026, 11, 22, 18, 0, 1, 0, t0.Location()).Sub(v.clock.Now()))
	v.alarm(gateway.AlarmCarrierOverdue)
	v.news()
	due := v.clock.Now().Add(24 * time.Hour)
	for _, c := range []struct {
		carrier, approver string
		due               time.Time
		code, msg         string
	}{
		{"JM-0001", "p-zhang", due, gateway.EINVALID, "own loan"},
		{"JM-0001", "p-wang", due, gateway.EINVALID, "a security officer or a leader"},
		{"JM-0001", "", due, gateway.EINVALID, "approver"},
		{"JM-0001", "p-li", v.clock.Now().Add(-time.Minute), gateway.EINVALID, "not in the future"},
		{"JM-0001", "p-li", v.clock.Now().Add(40 * 24 * time.Hour), gateway.EINVALID, "more than 30 days"},
		{"JM-0003", "p-li", due, gateway.ECONFLICT, "not signed out"},
		{"JM-9999", "p-li", due, gateway.ENOTFOUND, "no carrier"},
	} {
		_, err := v.vault.Extend(c.carrier, c.due, c.approver, "p-li", "console/s1")
		if gateway.ErrorCode(err) != c.code || !strings.Contains(fmt.Sprint(err), c.msg) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	v.expect()
	// Issue 17: asked for by another, the extension waits for the
	// approver's own signature through another channel.
	asked, err := v.vault.Extend("JM-0001", due, "p-li", "p-zhang", "console/s1")
	if err != nil || !asked.IsWaiting() || asked.Waiting != "p-li" {
		t.Fatalf("an extension asked for the approver: %+v %v", asked, err)
	}
	v.expect("carrier.extend_asked")
	if _, err := v.vault.Approve("JM-0001", "p-li", "console/s1"); gateway.ErrorCode(err) != gateway.ESAMEPERSON {
		t.Fatalf("approved through the asking channel: %v", err)
	}
	l, err := v.vault.Approve("JM-0001", "p-li", "console/s2")
	if err != nil || !l.Due.Equal(due) || l.Overdue {
		t.Fatalf("extend: %+v %v", l, err)
	}
	v.expect("carrier.extended", "alarm.restored")
	if err := v.panel.Ack(v.alarm(gateway.AlarmCarrierOverdue).ID, "guard-1", "已批准延期"); err != nil {
		t.Fatal(err)
	}
	v.expect("alarm.acknowledged", "alarm.closed")
	v.clock.Advance(23 * time.Hour)
	v.expect()
	v.clock.Advance(time.Hour + time.Second)
	if news := strings.Join(v.news(), " "); !strings.Contains(news, "carrier.overdue") {
		t.Fatalf("no overdue at the new due time: %s", news)
	}
}

// A register sync that would drop a carrier still signed out is refused
// and changes nothing; one that drops a carrier whose life in the room
// ended (issue 30: here archived) clears its state.
func TestReplaceKeepsLoans(t *testing.T) {
	v := newVaultRoom(t, carriers)
	if _, err := v.vault.SignOut(gateway.SignOutRequest{Carrier: "JM-0003", Borrower: "p-li", Purpose: "核对", By: "p-li"}); err != nil {
		t.Fatal(err)
	}
	v.log.written()
	err := v.room.ReplaceRegister(gateway.RegisterChange{Name: "carriers", Version: 2, By: "p-li", Carriers: carriers[:2]})
	if gateway.ErrorCode(err) != gateway.ECONFLICT || !strings.Contains(err.Error(), "JM-0003") || len(v.log.written()) != 0 {
		t.Fatalf("dropping a lent carrier: %v", err)
	}
	if ri, _ := v.store.CarrierRegister(); len(v.vault.Carriers()) != 3 || ri.Version != 1 {
		t.Fatalf("the refused sync changed the register: %d carriers, version %d", len(v.vault.Carriers()), ri.Version)
	}
	if _, err := v.vault.End("carrier/archive", gateway.EndRequest{Carriers: []string{"JM-0002"}, To: "档案室", By: "p-zhang"}); err != nil {
		t.Fatal(err)
	}
	v.log.written()
	keep := []gateway.Carrier{carriers[0], carriers[2]}
	if err := v.room.ReplaceRegister(gateway.RegisterChange{Name: "carriers", Version: 2, By: "p-li", Carriers: keep}); err != nil {
		t.Fatal(err)
	}
	if w := v.log.written(); len(w) != 1 || len(w[0].Registers) != 1 {
		t.Fatalf("the replacement took %d changes, want one with the register", len(w))
	}
	if ri, _ := v.store.CarrierRegister(); ri.Version != 2 || ri.Count != 2 || len(v.vault.Carriers()) != 2 {
		t.Fatalf("after the replacement: version %d, %d rows, %d carriers tracked", ri.Version, ri.Count, len(v.vault.Carriers()))
	}
	if _, ok := v.vault.State("JM-0002"); ok || v.vsink.states["JM-0002"] != nil {
		t.Fatalf("JM-0002 still has a state: %s", v.vsink.states["JM-0002"])
	}
	if len(v.vsink.states["JM-0001"]) == 0 {
		t.Fatal("kept carriers not published again")
	}
}

// Sealing takes an inventory and puts the carriers of each safe in the
// snapshot; a carrier gone from its safe by the unsealing is a difference
// in the seal report.
func TestSealWithCarriers(t *testing.T) {
	v := newVaultRoom(t, carriers)
	seeHome := func(skip string) {
		for i, c := range carriers {
			if c.ID != skip {
				v.seen("uhf-safes", 1+i%2, c.EPC)
			}
		}
	}
	seeHome("")
	sealer := room.Sealer{Panel: v.panel, Vault: v.vault}
	if step, err := sealer.Seal("p-zhang"); err != nil || step.Done || step.Inventory != nil {
		t.Fatalf("first confirmation: %+v %v", step, err)
	}
	step, err := sealer.Seal("p-li")
	if err != nil || !step.Done || step.Inventory == nil || !step.Inventory.AllHome || step.Inventory.Trigger != gateway.InventorySeal {
		t.Fatalf("sealed: %+v %v", step, err)
	}
	seal := v.panel.State().Seal
	if fmt.Sprint(seal.Carriers) != "map[safe-a:[JM-0001 JM-0003] safe-b:[JM-0002]]" {
		t.Fatalf("seal carriers %v", seal.Carriers)
	}
	v.clock.Advance(30 * time.Second)
	seeHome("JM-0003")
	v.clock.Advance(45 * time.Second) // JM-0003 last read 75 s ago: not there now
	seeHome("JM-0003")
	sealer.Unseal("p-zhang")
	step, err = sealer.Unseal("p-li")
	if err != nil || !step.Done || step.Report == nil {
		t.Fatalf("unsealed: %+v %v", step, err)
	}
	if fmt.Sprint(step.Report.Differences) != "[carrier JM-0003: in safe-a at sealing, not seen in a safe at unsealing]" {
		t.Fatalf("differences %q", step.Report.Differences)
	}
	if step.Inventory == nil || step.Inventory.AllHome || len(step.Inventory.Missing) != 1 {
		t.Fatalf("unseal inventory %+v", step.Inventory)
	}
}

// The daily inventory runs at its time of day, every day, by "gateway".
func TestDailyInventory(t *testing.T) {
	v := newVaultRoom(t, carriers)
	v.vault.ScheduleInventory(17*time.Hour + 45*time.Minute)
	at := time.Date(2026, 11, 22, 17, 45, 0, 0, t0.Location())
	v.clock.Advance(at.Sub(v.clock.Now()) - time.Second)
	if v.vsink.reports != 0 {
		t.Fatal("early")
	}
	v.clock.Advance(time.Second)
	if v.vsink.reports != 1 {
		t.Fatalf("%d reports at 17:45", v.vsink.reports)
	}
	v.clock.Advance(24 * time.Hour)
	if v.vsink.reports != 2 {
		t.Fatalf("%d reports the next day", v.vsink.reports)
	}
	rs, err := v.store.Inventories(time.Time{}, 0)
	if err != nil || len(rs) != 2 || rs[0].Trigger != gateway.InventorySchedule || rs[0].By != "gateway" {
		t.Fatalf("stored %+v %v", rs, err)
	}
}

// Issue 17, item 5: a safe that holds a top-secret carrier is released by
// two people through two channels within the window; a safe without one by
// one person.
func TestTopSecretSafeNeedsTwoPeople(t *testing.T) {
	v := newVaultRoom(t, carriers)
	if done, err := v.room.SafeRelease("safe-a", "p-zhang", "console/s1"); err != nil || !done {
		t.Fatalf("a safe without top secret: %v %v", done, err)
	}
	if done, err := v.room.SafeRelease("safe-b", "p-zhang", "console/s1"); err != nil || done {
		t.Fatalf("the first person: %v %v", done, err)
	}
	if _, err := v.room.SafeRelease("safe-b", "p-zhang", "console/s2"); gateway.ErrorCode(err) != gateway.ESAMEPERSON {
		t.Fatalf("the same person again: %v", err)
	}
	if _, err := v.room.SafeRelease("safe-b", "p-li", "console/s1"); gateway.ErrorCode(err) != gateway.ESAMEPERSON {
		t.Fatalf("a second person through the same channel: %v", err)
	}
	v.clock.Advance(gateway.SecondWindow + time.Second)
	if done, err := v.room.SafeRelease("safe-b", "p-li", "console/s2"); err != nil || done {
		t.Fatalf("too late: asked again: %v %v", done, err)
	}
	if done, err := v.room.SafeRelease("safe-b", "p-zhang", "console/s1"); err != nil || !done {
		t.Fatalf("the second person in time: %v %v", done, err)
	}
}

// Issue 28, item 3: a carrier that should be home and is not found by an
// inventory (and is not signed out) is a carrier-missing alarm, its
// priority by its classification (top secret 1, secret 2, confidential 3);
// seen at home again, the alarm is restored.
func TestMissingCarrierIsAnAlarm(t *testing.T) {
	v := newVaultRoom(t, carriers)
	v.seen("uhf-safes", 1, carriers[0].EPC) // JM-0001 home; JM-0002 (top secret) and JM-0003 unseen
	v.news()
	if _, err := v.vault.Inventory(gateway.InventoryCommand, "p-li"); err != nil {
		t.Fatal(err)
	}
	got := map[string]*gateway.Alarm{}
	for _, a := range v.alarms() {
		if a.Class == gateway.AlarmCarrierMissing {
			got[a.Device] = a
		}
	}
	if len(got) != 2 || got["JM-0002"] == nil || got["JM-0002"].Priority != 1 || got["JM-0003"] == nil || got["JM-0003"].Priority != 3 ||
		!strings.Contains(got["JM-0002"].Detail, "密码电报 第7号") {
		t.Fatalf("carrier-missing alarms: %+v", got)
	}
	news := v.news()
	if !slices.Contains(news, "alarm.raised") {
		t.Fatalf("events %v", news)
	}
	v.seen("uhf-safes", 2, carriers[1].EPC) // found at home
	if a := got["JM-0002"]; v.panel.State().Alarms[slices.IndexFunc(v.panel.State().Alarms, func(x *gateway.Alarm) bool { return x.ID == a.ID })].RestoredAt.IsZero() {
		t.Fatal("the carrier back home, its alarm not restored")
	}
}
