package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/wire"
	"github.com/roomguard/roomguard/schemas"
)

// The e2e room's carriers: one of each class, all kept in safe A.
const (
	epc1 = "E2801160600002085E5C8B01" // JM-1, 机密
	epc2 = "E2801160600002085E5C8B02" // JM-2, 绝密
	epc3 = "E2801160600002085E5C8B03" // JM-3, 秘密
)

const carriersCSV = `id,epc,title,class,kind,home,custodian
JM-1,` + epc1 + `,年度工作要点,机密,文件,safe-a,p-0
JM-2,` + epc2 + `,密码电报 第7号,绝密,密码电报,safe-a,p-0
JM-3,` + epc3 + `,涉密U盘 03,秘密,U盘,safe-a,p-1
`

// Through the pseudo-terminals of the simulated UHF readers (an R200 in the
// safe, a Chafon at the door) and Mosquitto: the register imported from the
// command line, every carrier read in its safe and counted by an inventory,
// a carrier carried to the door without permission raising the critical
// alarm at a subscriber with who is inside, a permitted departure logged,
// sign-out and return from the command line, and bad requests refused.
func TestCarriersEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	a := startAccessRoom(t, false, 4)
	dir := t.TempDir()
	cfg := "--config=" + a.cfgPath
	seen := 0

	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(strings.Replace(carriersCSV, "safe-a,p-1", "safe-z,p-1", 1)), 0o600)
	if out, err := a.cli("carrier", "import", cfg, "--by=p-1", bad); err == nil || !strings.Contains(err.Error(), `JM-3: home "safe-z"`) {
		t.Fatalf("a home that is not a safe: %v\n%s", err, out)
	}
	good := filepath.Join(dir, "carriers.csv")
	os.WriteFile(good, []byte(carriersCSV), 0o600)
	if out, err := a.cli("carrier", "check", good); err != nil || !strings.Contains(out, "3 carriers (1 绝密, 1 机密, 1 秘密)") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	if out, err := a.cli("carrier", "import", cfg, "--by=p-1", good); err != nil || !strings.Contains(out, "version 1: 3 carriers") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	a.w.waitFor("retained carrier state", func() bool { // (waitFor holds the watcher's lock)
		return bytes.Contains(a.w.topics["roomguard/"+a.room+"/carriers/JM-2"], []byte(`"status":"home"`))
	})

	// Every carrier in safe A's field: an inventory counts all three there.
	a.pub("sim/tags/uhf-safes/1", epc1+" "+epc2+" "+epc3)
	var out string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, _ = a.cli("inventory", "run", cfg, "--by=p-1")
		if strings.Contains(out, "safe-a  3         3") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no inventory found the three carriers in safe A; the last:\n%s", out)
		}
	}
	if !strings.Contains(out, "all carriers home") {
		t.Fatalf("inventory:\n%s", out)
	}

	// 张伟 is inside; JM-1 leaves the safe and is read at the door.
	a.grantedAt(&seen, "reader-outside", "62E3086CED")
	a.pub("sim/input/door-main", "open")
	a.waitEvent(&seen, "access.entered")
	a.pub("sim/input/door-main", "closed")
	a.waitEvent(&seen, "door.closed")
	a.pub("sim/tags/uhf-safes/1", epc2+" "+epc3)
	a.pub("sim/tags/uhf-gate/1", epc1)
	removal := data(a.waitEvent(&seen, "carrier.removal"))
	if removal["carrier"] != "JM-1" || !strings.Contains(strings.Join(toStrings(removal["inside"]), ","), "张伟 (p-0)") {
		t.Fatalf("removal %v", removal)
	}
	raised := data(a.waitEvent(&seen, "alarm.raised"))
	if raised["class"] != "carrier-removal" || !strings.Contains(raised["detail"].(string), "年度工作要点") {
		t.Fatalf("alarm %v", raised)
	}
	a.w.waitFor("the retained alarm", func() bool {
		return bytes.Contains(a.w.topics["roomguard/"+a.room+"/alarms/"+raised["alarm"].(string)], []byte(`"carrier-removal"`))
	})
	a.pub("sim/tags/uhf-gate/1", "")

	// Issue 28, item 3: an inventory now does not find JM-1 in its safe
	// (nor signed out): a carrier-missing alarm, in the call-down like any
	// other, retained for the consoles.
	if out, _ := a.cli("inventory", "run", cfg, "--by=p-1"); !strings.Contains(out, "JM-1") {
		t.Fatalf("the inventory does not name JM-1 missing:\n%s", out)
	}
	a.w.waitFor("the carrier-missing alarm", func() bool {
		for topic, p := range a.w.topics {
			if strings.Contains(topic, "/alarms/") && bytes.Contains(p, []byte(`"carrier-missing"`)) && bytes.Contains(p, []byte(`"device":"JM-1"`)) {
				return true
			}
		}
		return false
	})

	// Sign-out from the command line: the rules, then a permitted departure.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--carrier=JM-2", "--borrower=p-0", "--purpose=译电"}, "two people"},
		{[]string{"--carrier=JM-2", "--borrower=p-0", "--second=p-1", "--purpose=译电"}, "may not take a top-secret"},
		{[]string{"--carrier=JM-9", "--borrower=p-0", "--purpose=译电"}, `no carrier "JM-9"`},
		{[]string{"--carrier=JM-3", "--borrower=p-3", "--purpose=送审", "--may-leave", "--approver=p-3"}, "own loan"},
		{[]string{"--carrier=JM-3", "--purpose=送审"}, "required: --borrower"},
	} {
		out, err := a.cli(append([]string{"carrier", "signout", cfg, "--by=p-0"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("signout %v: %v, want %q\n%s", c.args, err, c.want, out)
		}
	}
	out, err := a.cli("carrier", "signout", cfg, "--by=p-0", "--carrier=JM-3", "--borrower=p-3", "--purpose=送审",
		"--may-leave", "--approver=p-1", "--due=4h")
	if err != nil || !strings.Contains(out, "JM-3 signed out to p-3") || !strings.Contains(out, "may leave the room") {
		t.Fatalf("signout: %v\n%s", err, out)
	}
	if d := data(a.waitEvent(&seen, "carrier.signed_out")); d["carrier"] != "JM-3" || d["approver"] != "p-1" || d["by"] != "p-0" {
		t.Fatalf("signed out %v", d)
	}
	// Issue 17: the approver confirms with their own signature (the guard
	// station's, not the command line's that signed it out); the sign-out
	// named p-1, so nobody else may.
	if rep := a.w.command(a.room, "carrier/approve", "ap-0", map[string]any{"by": "p-0", "carrier": "JM-3"}); rep["status"] != "error" {
		t.Fatalf("approved by another than the approver: %v", rep)
	}
	if rep := a.w.command(a.room, "carrier/approve", "ap-1", map[string]any{"by": "p-1", "carrier": "JM-3"}); rep["status"] != "ok" {
		t.Fatalf("the approval: %v", rep)
	}
	a.waitEvent(&seen, "carrier.approved")
	a.pub("sim/tags/uhf-safes/1", epc2)
	a.pub("sim/tags/uhf-gate/1", epc3)
	if d := data(a.waitEvent(&seen, "carrier.gate")); d["carrier"] != "JM-3" || d["permitted"] != true {
		t.Fatalf("gate %v", d)
	}
	out, err = a.cli("carrier", "list", cfg)
	if err != nil || !strings.Contains(out, "JM-3") || !strings.Contains(out, "p-3 (may leave)") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := a.cli("carrier", "return", cfg, "--by=p-0", "--carrier=JM-3"); err != nil || !strings.Contains(out, "JM-3 returned by p-3") {
		t.Fatalf("return: %v\n%s", err, out)
	}
	if d := data(a.waitEvent(&seen, "carrier.returned")); d["by"] != "p-0" || d["late"] != false {
		t.Fatalf("returned %v", d)
	}
	if out, err := a.cli("carrier", "return", cfg, "--by=p-0", "--carrier=JM-3"); err == nil || !strings.Contains(err.Error(), "not signed out") {
		t.Fatalf("returned twice: %v\n%s", err, out)
	}
	if out, err := a.cli("inventory", "show", cfg); err != nil || !strings.Contains(out, "all carriers home") {
		t.Fatalf("inventory show: %v\n%s", err, out)
	}
	if out, err := a.cli("carrier", "export", cfg); err != nil || !strings.Contains(out, epc2) {
		t.Fatalf("export: %v\n%s", err, out)
	}

	// The safe's reader stops answering: a device fault, restored once it
	// answers again on the reopened port.
	a.pub("sim/tags/uhf-safes/1", "silent")
	for e := a.waitEvent(&seen, "alarm.raised"); e["device"] != "uhf-safes"; e = a.waitEvent(&seen, "alarm.raised") {
	}
	a.pub("sim/tags/uhf-safes/1", "answer")
	for e := a.waitEvent(&seen, "alarm.restored"); e["device"] != "uhf-safes"; e = a.waitEvent(&seen, "alarm.restored") {
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// Issue 30, step 1: a document received through the running gateway from
// the command line (收文登记): its copies become carriers, published
// retained, with carrier.received in the room's chain; a reader not in the
// register is refused.
func TestDocumentReceivedEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	a := startAccessRoom(t, false, 4)
	cfg := "--config=" + a.cfgPath
	seen := 0
	receipt := func(circle string) string {
		return `{"by":"p-0","source":"市委办公室","doc_number":"市委办〔2026〕12号","title":"关于年终检查的通知","class":"机密","period":"2031-12-31",` +
			`"kind":"文件","home":"safe-a","custodian":"p-0","need_to_know":` + circle + `,"epcs":["300833B2DDD9014000000101","300833B2DDD9014000000102"]}`
	}
	if out, err := a.cli("cmd", cfg, "carrier/receive", receipt(`["p-1","p-nobody"]`)); err == nil || !strings.Contains(out+err.Error(), "p-nobody") {
		t.Fatalf("a reader not in the register: %v\n%s", err, out)
	}
	out, err := a.cli("cmd", cfg, "carrier/receive", receipt(`["p-1","保密员"]`))
	doc := fmt.Sprintf("JM-%d-0001", time.Now().Year())
	if err != nil || !strings.Contains(out, doc) {
		t.Fatalf("receive: %v\n%s", err, out)
	}
	received := data(a.waitEvent(&seen, "carrier.received"))
	if received["document"] != doc || len(toStrings(received["copies"])) != 2 {
		t.Fatalf("carrier.received %v", received)
	}
	a.w.waitFor("the second copy's retained state", func() bool { // (waitFor holds the watcher's lock)
		return len(a.w.topics["roomguard/"+a.room+"/carriers/"+doc+"-02"]) > 0
	})
}

// Issue 30, step 5: a loss reported through the running gateway raises the
// carrier-lost alarm, retained for the consoles, and the carrier's retained
// status is lost.
func TestLossReportedEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	a := startAccessRoom(t, false, 4)
	cfg := "--config=" + a.cfgPath
	seen := 0
	out, err := a.cli("cmd", cfg, "carrier/receive", `{"by":"p-0","source":"市委办公室","doc_number":"7号","title":"会议纪要","class":"秘密","period":"长期",`+
		`"kind":"文件","home":"safe-a","custodian":"p-0","need_to_know":["p-1"],"epcs":["300833B2DDD9014000000301"]}`)
	if err != nil {
		t.Fatalf("receive: %v\n%s", err, out)
	}
	copyID := fmt.Sprintf("JM-%d-0001-01", time.Now().Year())
	if out, err := a.cli("cmd", cfg, "carrier/loss", `{"by":"p-0","carrier":"`+copyID+`","detail":"送阅后未归还"}`); err != nil {
		t.Fatalf("loss: %v\n%s", err, out)
	}
	raised := data(a.waitEvent(&seen, "alarm.raised"))
	if raised["class"] != "carrier-lost" {
		t.Fatalf("alarm %v", raised)
	}
	a.w.waitFor("the lost carrier's retained status", func() bool { // (waitFor holds the watcher's lock)
		return bytes.Contains(a.w.topics["roomguard/"+a.room+"/carriers/"+copyID], []byte(`"status":"lost"`))
	})
	if out, err := a.cli("cmd", cfg, "carrier/loss", `{"by":"p-0","carrier":"`+copyID+`","detail":"again"}`); err == nil || !strings.Contains(out+err.Error(), "already") {
		t.Fatalf("a second report: %v\n%s", err, out)
	}
}

// Issue 30, steps 2, 4 and 6 through the running gateway: a circulation
// refused for a reader not on the list and confirmed by the reader's own
// session; a destruction refused with one witness, then approved by the
// leader and confirmed by both witnesses through their own sessions, the
// destruction list in the reply and carrier.destroyed in the chain, the
// retained state destroyed; the destroyed tag read again in the safe
// raises carrier-resurrected; a custody transfer to the same person
// refused. The chain verifies across it all.
func TestCarrierLifeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	a := startAccessRoom(t, false, 4)
	cfg := "--config=" + a.cfgPath
	seen := 0
	people := personnelCSV(4) + "p-4,钱领,0400000004,核心,领导,*,,,,yes\np-5,孙见,0400000005,核心,机要员,*,,,,yes\n"
	if r := a.w.command(a.room, "personnel/replace", "reg-2", map[string]any{"by": "p-1", "version": 2, "csv": people}); r["status"] != "ok" {
		t.Fatalf("register: %+v", r)
	}
	cmd := func(name, payload string) (string, error) { return a.cli("cmd", cfg, name, payload) }
	out, err := cmd("carrier/receive", `{"by":"p-0","source":"市委办公室","doc_number":"9号","title":"干部任免通知","class":"机密","period":"长期",`+
		`"kind":"文件","home":"safe-a","custodian":"p-0","need_to_know":["p-1","p-5"],"epcs":["300833B2DDD9014000000401","300833B2DDD9014000000402"]}`)
	if err != nil {
		t.Fatalf("receive: %v\n%s", err, out)
	}
	doc := fmt.Sprintf("JM-%d-0001", time.Now().Year())
	c1, c2 := doc+"-01", doc+"-02"

	// 传阅: p-3 is not on the list; p-1 is, and confirms from their own session.
	if out, err := cmd("carrier/circulate", `{"by":"p-0","carrier":"`+c1+`","reader":"p-3"}`); err == nil || !strings.Contains(out+err.Error(), "need-to-know") {
		t.Fatalf("a reader not on the list: %v\n%s", err, out)
	}
	if out, err := cmd("carrier/circulate", `{"by":"p-0","carrier":"`+c1+`","reader":"p-1"}`); err != nil || !strings.Contains(out, "p-1") {
		t.Fatalf("circulate: %v\n%s", err, out)
	}
	if out, err := cmd("carrier/confirm", `{"by":"p-1","carrier":"`+c1+`","session":"s-li"}`); err != nil {
		t.Fatalf("the reader's receipt: %v\n%s", err, out)
	}
	if d := data(a.waitEvent(&seen, "carrier.circulated")); d["borrower"] != "p-1" || d["kind"] != "circulation" {
		t.Fatalf("carrier.circulated %v", d)
	}

	// 销毁: one witness is refused; then the leader and two witnesses.
	if out, err := cmd("carrier/destroy", `{"by":"p-0","carriers":["`+c2+`"],"method":"shredder","approver":"p-4","witnesses":["p-1"]}`); err == nil || !strings.Contains(out+err.Error(), "witnesses") {
		t.Fatalf("one witness: %v\n%s", err, out)
	}
	if out, err := cmd("carrier/destroy", `{"by":"p-0","carriers":["`+c2+`"],"method":"shredder","approver":"p-4","witnesses":["p-1","p-5"]}`); err != nil || !strings.Contains(out, "waiting_for") {
		t.Fatalf("destroy: %v\n%s", err, out)
	}
	a.w.waitFor("the pending destruction in the retained state", func() bool {
		return bytes.Contains(a.w.topics["roomguard/"+a.room+"/carriers/"+c2], []byte(`"op":"carrier/destroy"`))
	})
	if out, err := cmd("carrier/approve", `{"by":"p-4","carrier":"`+c2+`","session":"s-qian"}`); err != nil {
		t.Fatalf("the leader's approval: %v\n%s", err, out)
	}
	if out, err := cmd("carrier/confirm", `{"by":"p-1","carrier":"`+c2+`","session":"s-qian"}`); err == nil || !strings.Contains(out+err.Error(), "channel") {
		t.Fatalf("a witness through the leader's channel: %v\n%s", err, out)
	}
	if out, err := cmd("carrier/confirm", `{"by":"p-1","carrier":"`+c2+`","session":"s-li"}`); err != nil {
		t.Fatalf("the first witness: %v\n%s", err, out)
	}
	out, err = cmd("carrier/confirm", `{"by":"p-5","carrier":"`+c2+`","session":"s-sun"}`)
	if err != nil || !strings.Contains(out, "XH-") {
		t.Fatalf("the second witness: %v\n%s", err, out)
	}
	destroyed := data(a.waitEvent(&seen, "carrier.destroyed"))
	if destroyed["carrier"] != c2 || destroyed["approver"] != "p-4" || strings.Join(toStrings(destroyed["witnesses"]), ",") != "p-1,p-5" {
		t.Fatalf("carrier.destroyed %v", destroyed)
	}
	var state []byte
	a.w.waitFor("the destroyed carrier's retained state", func() bool {
		state = a.w.topics["roomguard/"+a.room+"/carriers/"+c2]
		return bytes.Contains(state, []byte(`"status":"destroyed"`))
	})
	if err := schemas.ValidateJSON("carrier-state", state); err != nil {
		t.Fatalf("retained state: %v\n%s", err, state)
	}

	// Its tag read again in the safe.
	a.pub("sim/tags/uhf-safes/1", "300833B2DDD9014000000402")
	if d := data(a.waitEvent(&seen, "carrier.resurrected")); d["carrier"] != c2 {
		t.Fatalf("carrier.resurrected %v", d)
	}
	if d := data(a.waitEvent(&seen, "alarm.raised")); d["class"] != "carrier-resurrected" || d["priority"] != float64(1) {
		t.Fatalf("alarm %v", d)
	}
	if out, err := cmd("custody/transfer", `{"by":"p-1","outgoing":"p-0","incoming":"p-0"}`); err == nil || !strings.Contains(out+err.Error(), "same_person") {
		t.Fatalf("a transfer to the same person: %v\n%s", err, out)
	}
	// Issue 31, item 2: safe A's combination changed by p-0, witnessed by
	// p-1 from their own session.
	if out, err := cmd("safe/combination-changed", `{"by":"p-0","safe":"safe-a","holder":"p-0","witness":"p-1","session":"s-zhang"}`); err != nil || !strings.Contains(out, "waiting_for") {
		t.Fatalf("the change asked: %v\n%s", err, out)
	}
	if out, err := cmd("safe/combination-changed", `{"by":"p-1","safe":"safe-a","holder":"p-0","witness":"p-0","session":"s-li"}`); err != nil {
		t.Fatalf("the witness: %v\n%s", err, out)
	}
	if d := data(a.waitEvent(&seen, "safe.combination_changed")); d["by"] != "p-0" || d["witness"] != "p-1" || d["subject"] != "safe-a" {
		t.Fatalf("safe.combination_changed %v", d)
	}
	// Issue 31, item 1: a maintenance visit asked for, approved by the
	// leader from their own session, closed by the custodian with the
	// media check.
	out, err = cmd("maintenance/request", `{"by":"p-1","company":"某某信息技术有限公司","equipment":"涉密计算机","custodian":"p-0","approver":"p-4",`+
		`"start":"2026-11-22T10:00:00+08:00","end":"2026-11-22T14:00:00+08:00","session":"s-li",`+
		`"technicians":[{"name":"周工","id_type":"passport","id_number":"E1234567","card":"0A0B0C0D0E"}]}`)
	if err != nil || !strings.Contains(out, "mt-") {
		t.Fatalf("maintenance/request: %v\n%s", err, out)
	}
	mt := data(a.waitEvent(&seen, "maintenance.requested"))["maintenance"].(string)
	if out, err := cmd("maintenance/approve", `{"by":"p-4","maintenance":"`+mt+`","session":"s-qian"}`); err != nil {
		t.Fatalf("maintenance/approve: %v\n%s", err, out)
	}
	if out, err := cmd("maintenance/close", `{"by":"p-0","maintenance":"`+mt+`","media":"kept","note":"更换电源"}`); err != nil {
		t.Fatalf("maintenance/close: %v\n%s", err, out)
	}
	if d := data(a.waitEvent(&seen, "maintenance.closed")); d["media"] != "kept" {
		t.Fatalf("maintenance.closed %v", d)
	}
	if out, err := a.cli("log", "verify", cfg); err != nil {
		t.Fatalf("the chain across the carrier's life: %v\n%s", err, out)
	}
}

// Issue 30, step 5: a loss reported through the running gateway reaches
// the security officers' call-down at once: an SMS through the room's own
// modem (simulated on a pseudo-terminal, driven by the real driver) naming
// the carrier-lost alarm, and the delivery logged.
func TestLossReachesTheCalldown(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	a := startAccessRoom(t, false, 4)
	a.d.Stop()
	cfg := a.d.cfg
	cfg.Notify = &config.Notify{Modem: &config.NotifyModem{Path: "/dev/roomguard/modem"}, Timezone: "Asia/Shanghai",
		People: []config.NotifyPerson{{ID: "officer", Name: "保密员", Phone: "13900000002"}, {ID: "leader", Name: "分管领导", Phone: "13700000003"}},
		Calldown: []wire.CalldownRule{{Classes: []string{"carrier-lost", "carrier-resurrected", "carrier-removal", "tamper", "intrusion", "seal-broken", "command-forgery", "log-tampered"},
			Steps: []wire.CalldownStep{{After: "0s", People: []string{"officer", "leader"}}}}}}
	d, err := startDaemon(cfg, daemonOpts{Clock: a.clock, Sim: true, LogLevel: slog.LevelWarn, Stdout: io.Discard, Stderr: gatewayLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	a.d = d
	a.w.waitFor("online again", func() bool { return bytes.Contains(a.w.topics["roomguard/"+a.room+"/status"], []byte(`"online"`)) })
	cmd := func(name, payload string) {
		t.Helper()
		if out, err := a.cli("cmd", "--config="+a.cfgPath, name, payload); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	cmd("carrier/receive", `{"by":"p-0","source":"市委办公室","doc_number":"7号","title":"会议纪要","class":"秘密","period":"长期",`+
		`"kind":"文件","home":"safe-a","custodian":"p-0","need_to_know":["p-1"],"epcs":["300833B2DDD9014000000311"]}`)
	cmd("carrier/loss", `{"by":"p-0","carrier":"`+fmt.Sprintf("JM-%d-0001-01", time.Now().Year())+`","detail":"送阅后未归还"}`)
	deadline := time.Now().Add(20 * time.Second)
	for len(d.sim.Modem.Sent()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("SMS sent: %+v", d.sim.Modem.Sent())
		}
		a.clock.Advance(0) // the first step is due at once
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range d.sim.Modem.Sent() {
		if !strings.Contains(s.Text, "涉密载体丢失") || !strings.Contains(s.Text, "一级报警") {
			t.Fatalf("the SMS to %s: %q", s.To, s.Text)
		}
	}
}
