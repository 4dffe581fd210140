package mqtt_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/mqtt"
	gwroom "github.com/roomguard/roomguard/gateway/room"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/wire"
	"github.com/roomguard/roomguard/schemas"
)

// commandRig is a panel behind the command decoder, with no broker: what a
// command does is what Execute returns and what the log and state show. It
// takes unsigned commands (what a command does is tested here; who may
// give it, in auth_test.go).
func commandRig(t testing.TB, doorOpen bool, more ...func(*mqtt.Targets)) (*mqtt.Commands, *gwroom.Panel, *sqlite.Store) {
	cmds, r, store, _ := commandRigWith(t, doorOpen, func(*gwroom.Room, *sqlite.Store, *clocktest.Clock) *mqtt.Auth {
		return &mqtt.Auth{Unsigned: true}
	}, more...)
	return cmds, r.Panel, store
}

// commandRigWith is commandRig with the room's auth made by auth.
func commandRigWith(t testing.TB, doorOpen bool, auth func(*gwroom.Room, *sqlite.Store, *clocktest.Clock) *mqtt.Auth, more ...func(*mqtt.Targets)) (*mqtt.Commands, *gwroom.Room, *sqlite.Store, *clocktest.Clock) {
	clock := clocktest.New(time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(filepath.Join(memDir(t), "log.db"), room, clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := gwroom.New(gwroom.Config{ID: room, Panel: gateway.DefaultPanelConfig(), Access: config.DefaultAccess(), Inventory: -1},
		store, clock, nowhere{}, quiet)
	r.AddInput(gateway.Input{ID: "door-main", Kind: gateway.KindDoor}, doorOpen)
	r.AddInput(gateway.Input{ID: "window-1", Kind: gateway.KindWindow}, false)
	if err := r.Start("test", false); err != nil {
		t.Fatal(err)
	}
	session, err := mqtt.NewSession(mqtt.SessionOpts{Conn: wire.Conn{URL: "tcp://127.0.0.1:1"}, Room: room, Clock: clock, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	targets := mqtt.Targets{Room: r.Sealer}
	for _, f := range more {
		f(&targets)
	}
	return mqtt.NewCommands(session, targets, config.DefaultLimits(), auth(r, store, clock)), r, store, clock
}

// memDir is a temporary directory in memory (/dev/shm) where the machine
// has one, else on disk. The commands' tests are not about durability: on
// disk every command carried out waited for its fsync, and FuzzCommandPayload
// ran a few hundred executions a second (issue 27, finding 12).
func memDir(t testing.TB) string {
	if _, bench := t.(*testing.B); bench {
		return t.TempDir() // a benchmark measures the disk's fsync too
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "roomguard-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// nowhere is a room's sink that publishes nothing.
type nowhere struct{}

func (nowhere) DeviceState(gateway.DeviceState)    {}
func (nowhere) Mode(json.RawMessage)               {}
func (nowhere) Alarm(string, json.RawMessage)      {}
func (nowhere) SealReport(string, json.RawMessage) {}
func (nowhere) Occupancy(json.RawMessage)          {}
func (nowhere) CarrierState(string, []byte)        {}
func (nowhere) InventoryReport(string, []byte)     {}

func TestBadCommandsGetClearErrorsAndChangeNothing(t *testing.T) {
	cases := []struct {
		name, cmd, payload string
		doorOpen           bool
		code, id, contains string
	}{
		{"unknown command", "explode", `{"id":"c1","by":"x"}`, false, gateway.ENOTFOUND, "c1", `unknown command "explode"`},
		{"not json", "arm", `{"id":"c2","by":`, false, gateway.EINVALID, "unknown", "arm:"},
		{"no id", "arm", `{"by":"li.ming"}`, false, gateway.EINVALID, "unknown", "id"},
		{"id not a topic segment", "arm", `{"id":"a/#","by":"li.ming"}`, false, gateway.EINVALID, "unknown", "/id"},
		{"ack without comment", "ack", `{"id":"c3","by":"zhao.lei","alarm":"x","comment":""}`, false, gateway.EINVALID, "c3", "/comment"},
		{"ack of an unknown alarm", "ack", `{"id":"c4","by":"zhao.lei","alarm":"nope","comment":"checked"}`, false, gateway.ENOTFOUND, "c4", `no open alarm "nope"`},
		{"arming with an open door", "arm", `{"id":"c5","by":"li.ming"}`, true, gateway.ECONFLICT, "c5", "door door-main is open"},
		{"bypass of an unknown device", "bypass", `{"id":"c6","by":"li.ming","reason":"r","devices":["ghost"]}`, false, gateway.ENOTFOUND, "c6", "ghost"},
		{"extra field", "disarm", `{"id":"c7","by":"li.ming","force":true}`, false, gateway.EINVALID, "c7", "force"},
		{"disarm an open room", "disarm", `{"id":"c8","by":"li.ming"}`, false, gateway.ECONFLICT, "c8", "not armed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmds, p, store := commandRig(t, c.doorOpen)
			before := p.State()
			last, _ := store.LastSeq()
			r := cmds.Execute(c.cmd, []byte(c.payload))
			b, _ := json.Marshal(r)
			if err := schemas.ValidateJSON("reply", b); err != nil {
				t.Fatalf("reply %s: %v", b, err)
			}
			if r.Status != "error" || r.Error.Code != c.code || r.ID != c.id || !strings.Contains(r.Error.Message, c.contains) {
				t.Fatalf("reply %s, want %s on %s containing %q", b, c.code, c.id, c.contains)
			}
			after := p.State()
			if after.Mode != before.Mode || len(after.Alarms) != len(before.Alarms) || after.Pending != nil || after.Bypass != nil {
				t.Fatalf("state changed: %+v", after)
			}
			if c.code == gateway.ECONFLICT && c.doorOpen {
				if len(r.Error.Reasons) != 1 || r.Error.Reasons[0].Device != "door-main" {
					t.Fatalf("reasons %+v", r.Error.Reasons)
				}
				return // a refused arming is recorded
			}
			if now, _ := store.LastSeq(); now != last {
				t.Fatalf("a bad command logged events %d..%d", last+1, now)
			}
		})
	}
}

func TestSealNeedsTwoDifferentPeople(t *testing.T) {
	cmds, p, _ := commandRig(t, false)
	r := cmds.Execute("seal", []byte(`{"id":"s1","by":"li.ming"}`))
	if r.Status != "ok" || r.Result["done"] != false {
		t.Fatalf("first confirmation: %+v", r)
	}
	r = cmds.Execute("seal", []byte(`{"id":"s2","by":"li.ming"}`))
	if r.Status != "error" || r.Error.Code != gateway.ESAMEPERSON || !strings.Contains(r.Error.Message, "two different people") {
		t.Fatalf("same person again: %+v", r)
	}
	// Issue 17, item 5: a second name through the same channel (one client,
	// one console session) is not a second person.
	r = cmds.Execute("seal", []byte(`{"id":"s3","by":"wang.fang"}`))
	if r.Status != "error" || r.Error.Code != gateway.ECONFLICT || !strings.Contains(r.Error.Message, "same channel") {
		t.Fatalf("a second name from the same channel: %+v", r)
	}
	r = cmds.Execute("seal", []byte(`{"id":"s4","by":"wang.fang","session":"s-2"}`))
	if r.Status != "ok" || r.Result["done"] != true || p.State().Mode != gateway.ModeSealed {
		t.Fatalf("second person from another session: %+v", r)
	}
}

// FuzzCommandPayload: no payload crashes the decoder; an error reply always
// validates and a refused command changes nothing.
func FuzzCommandPayload(f *testing.F) {
	for _, s := range []string{`{"id":"c","by":"x"}`, `{"id":"c","by":"x","alarm":"a","comment":"c"}`,
		`{"id":"c","by":"x","reason":"r","devices":["door-main"]}`, `{`, `null`, `[]`, `{"id":1}`, "\xff"} {
		for _, cmd := range []string{"arm", "disarm", "bypass", "ack", "seal", "unseal", "carrier/signout", "inventory/run", "x"} {
			f.Add(cmd, []byte(s))
		}
	}
	cmds, p, _ := commandRig(f, false)
	f.Fuzz(func(t *testing.T, cmd string, payload []byte) {
		before := p.State()
		r := cmds.Execute(cmd, payload)
		b, _ := json.Marshal(r)
		if err := schemas.ValidateJSON("reply", b); err != nil {
			t.Fatalf("reply %s: %v", b, err)
		}
		if r.Status == "error" && r.Error.Code == gateway.EINVALID && p.State().Mode != before.Mode {
			t.Fatal("an invalid command changed the mode")
		}
	})
}

// carrierTarget records what reaches the vault.
type carrierTarget struct{ calls []string }

func (c *carrierTarget) ReplaceCarriers(csv string, version int64, by string) (map[string]any, error) {
	c.calls = append(c.calls, "replace")
	return map[string]any{"version": version}, nil
}
func (c *carrierTarget) SignOut(r gateway.SignOutRequest) (*gateway.SignOut, error) {
	c.calls = append(c.calls, "signout "+r.Carrier+" due "+r.Due.UTC().Format(time.RFC3339))
	return &gateway.SignOut{ID: "so-1", Carrier: r.Carrier, Borrower: r.Borrower, Due: r.Due}, nil
}
func (c *carrierTarget) Approve(carrier, by, via string) (*gateway.SignOut, error) {
	c.calls = append(c.calls, "approve "+carrier+" via "+via)
	return nil, gateway.Errorf(gateway.ECONFLICT, "carrier: %s is not signed out", carrier)
}

func (c *carrierTarget) Return(carrier, by, via string) (*gateway.SignOut, error) {
	c.calls = append(c.calls, "return "+carrier)
	return nil, gateway.Errorf(gateway.ECONFLICT, "carrier: %s is not signed out", carrier)
}
func (c *carrierTarget) Extend(carrier string, due time.Time, approver, by, via string) (*gateway.SignOut, error) {
	c.calls = append(c.calls, "extend "+carrier)
	return &gateway.SignOut{ID: "so-1", Carrier: carrier, Due: due}, nil
}
func (c *carrierTarget) Inventory(trigger, by string) (*gateway.InventoryReport, error) {
	c.calls = append(c.calls, "inventory "+trigger)
	return &gateway.InventoryReport{ID: "inv-1", Trigger: trigger, By: by, AllHome: true}, nil
}
func (c *carrierTarget) InventoryReport(id string) (*gateway.InventoryReport, error) { return nil, nil }
func (c *carrierTarget) ReportLoss(carrier, by, detail string) error {
	c.calls = append(c.calls, "loss "+carrier)
	return nil
}
func (c *carrierTarget) step(op string, carriers ...string) (*gateway.Pending, error) {
	c.calls = append(c.calls, op+" "+strings.Join(carriers, ","))
	return &gateway.Pending{ID: "st-1", Op: op, Carriers: carriers, Parties: []gateway.Party{{Person: "p-2", As: "witness"}}}, nil
}
func (c *carrierTarget) End(op string, r gateway.EndRequest) (*gateway.Pending, error) {
	return c.step(op, r.Carriers...)
}
func (c *carrierTarget) Circulate(r gateway.CirculateRequest) (*gateway.Pending, error) {
	return c.step("carrier/circulate", r.Carrier)
}
func (c *carrierTarget) Copy(r gateway.CopyRequest) (*gateway.Pending, error) {
	return c.step("carrier/copy", r.Carrier)
}
func (c *carrierTarget) Transfer(r gateway.TransferRequest) (*gateway.Pending, error) {
	return c.step("custody/transfer", r.From, r.To)
}
func (c *carrierTarget) Confirm(step, carrier, by, via string) (*gateway.Pending, error) {
	return c.step("carrier/confirm", step, carrier)
}
func (c *carrierTarget) Receive(r gateway.Receipt) ([]gateway.Carrier, error) {
	c.calls = append(c.calls, "receive "+r.DocNumber+" "+strings.Join(r.EPCs, ","))
	return []gateway.Carrier{{ID: "JM-2026-0001-01", Document: "JM-2026-0001"}}, nil
}

// Carrier commands: checked against their schemas before anything reaches
// the vault; the vault's refusal comes back as the reply's error.
func TestCarrierCommands(t *testing.T) {
	cmds, _, _ := commandRig(t, false)
	if r := cmds.Execute("carrier/return", []byte(`{"id":"k0","by":"clerk","carrier":"JM-1"}`)); r.Error == nil || r.Error.Code != gateway.ENOTFOUND || !strings.Contains(r.Error.Message, "tracks no carriers") {
		t.Fatalf("a room without carriers: %+v", r)
	}
	target := &carrierTarget{}
	cmds, _, _ = commandRig(t, false, func(t *mqtt.Targets) { t.Carriers = target })
	for _, c := range []struct{ cmd, payload, code, contains string }{
		{"carrier/signout", `{"id":"k1","by":"clerk","carrier":"JM-1","borrower":"p-1"}`, gateway.EINVALID, "purpose"},
		{"carrier/signout", `{"id":"k2","by":"clerk","carrier":"JM-1","borrower":"p-1","purpose":"p","due":"tomorrow"}`, gateway.EINVALID, `due: "tomorrow"`},
		{"carrier/signout", `{"id":"k3","by":"clerk","carrier":"JM 1","borrower":"p-1","purpose":"p"}`, gateway.EINVALID, "/carrier"},
		{"carrier/extend", `{"id":"k4","by":"officer","carrier":"JM-1","due":"2026-11-24T18:00:00+08:00"}`, gateway.EINVALID, "approver"},
		{"carrier/return", `{"id":"k5","by":"clerk","carrier":"JM-1"}`, gateway.ECONFLICT, "not signed out"},
		{"inventory/show", `{"id":"k6","by":"auditor"}`, gateway.ENOTFOUND, "no inventory has been taken yet"},
		{"inventory/run", `{"id":"k7","by":"officer","safe":"safe-a"}`, gateway.EINVALID, "safe"},
		{"carrier/receive", `{"id":"k10","by":"clerk","source":"市委","doc_number":"12号","title":"通知","class":"机密","period":"五年","kind":"文件","home":"safe-a","custodian":"p-1","need_to_know":["p-2"],"epcs":["300833B2DDD9014000000101"]}`, gateway.EINVALID, "/period"},
		{"carrier/destroy", `{"id":"k13","by":"clerk","carriers":["JM-1"],"method":"shredder","approver":"p-9","witnesses":["p-2"]}`, gateway.EINVALID, "/witnesses"},
		{"carrier/destroy", `{"id":"k14","by":"clerk","carriers":["JM-1"],"method":"burn","approver":"p-9","witnesses":["p-2","p-3"]}`, gateway.EINVALID, "/method"},
		{"carrier/archive", `{"id":"k15","by":"clerk","carriers":["JM-1"]}`, gateway.EINVALID, "archive"},
		{"carrier/confirm", `{"id":"k16","by":"p-2"}`, gateway.EINVALID, ""},
		{"custody/transfer", `{"id":"k17","by":"officer","outgoing":"p-1"}`, gateway.EINVALID, "incoming"},
		{"carrier/circulate", `{"id":"k18","by":"clerk","carrier":"JM-1"}`, gateway.EINVALID, "reader"},
		{"carrier/copy", `{"id":"k19","by":"clerk","carrier":"JM-1","epcs":["300833B2DDD9014000000101"],"purpose":"p"}`, gateway.EINVALID, "approver"},
		{"carrier/receive", `{"id":"k11","by":"clerk","source":"市委","doc_number":"12号","title":"通知","class":"机密","period":"长期","kind":"文件","home":"safe-a","custodian":"p-1","need_to_know":[],"epcs":["300833B2DDD9014000000101"]}`, gateway.EINVALID, "/need_to_know"},
	} {
		r := cmds.Execute(c.cmd, []byte(c.payload))
		if r.Error == nil || r.Error.Code != c.code || !strings.Contains(r.Error.Message, c.contains) {
			t.Errorf("%s %s: %+v, want %s %q", c.cmd, c.payload, r.Error, c.code, c.contains)
		}
	}
	if strings.Join(target.calls, ";") != "return JM-1" {
		t.Fatalf("bad commands reached the vault: %q", target.calls)
	}
	r := cmds.Execute("carrier/signout", []byte(`{"id":"k8","by":"clerk","carrier":"JM-1","borrower":"p-1","purpose":"p","due":"2026-11-23T17:00:00+08:00"}`))
	if r.Status != "ok" || r.Result["sign_out"] != "so-1" || target.calls[1] != "signout JM-1 due 2026-11-23T09:00:00Z" {
		t.Fatalf("signout: %+v %q", r, target.calls)
	}
	r = cmds.Execute("carrier/receive", []byte(`{"id":"k12","by":"clerk","source":"市委","doc_number":"12号","title":"通知","class":"机密","period":"长期","kind":"文件","home":"safe-a","custodian":"p-1","need_to_know":["p-2"],"epcs":["300833B2DDD9014000000101"]}`))
	if r.Status != "ok" || r.Result["document"] != "JM-2026-0001" || target.calls[2] != "receive 12号 300833B2DDD9014000000101" {
		t.Fatalf("receive: %+v %q", r, target.calls)
	}
	r = cmds.Execute("carrier/destroy", []byte(`{"id":"k20","by":"clerk","carriers":["JM-1"],"method":"shredder","approver":"p-9","witnesses":["p-2","p-3"]}`))
	if r.Status != "ok" || r.Result["step"] != "st-1" || r.Result["done"] != false || fmt.Sprint(r.Result["waiting_for"]) != "[p-2]" || target.calls[3] != "carrier/destroy JM-1" {
		t.Fatalf("destroy: %+v %q", r, target.calls)
	}
	// A command whose name has a dash is one (issue 30: return-to-issuer
	// was refused as unknown).
	r = cmds.Execute("carrier/return-to-issuer", []byte(`{"id":"k22","by":"clerk","carriers":["JM-1"]}`))
	if r.Status != "ok" || target.calls[len(target.calls)-1] != "carrier/return-to-issuer JM-1" {
		t.Fatalf("return-to-issuer: %+v %q", r, target.calls)
	}
	if r := cmds.Execute("carrier-loss", []byte(`{"id":"k23","by":"clerk","carrier":"JM-1","detail":"x"}`)); r.Error == nil || r.Error.Code != gateway.ENOTFOUND {
		t.Fatalf("carrier-loss: %+v", r)
	}
	r = cmds.Execute("custody/transfer", []byte(`{"id":"k21","by":"officer","outgoing":"p-1","incoming":"p-2"}`))
	if r.Status != "ok" || target.calls[len(target.calls)-1] != "custody/transfer p-1,p-2" {
		t.Fatalf("transfer: %+v %q", r, target.calls)
	}
	r = cmds.Execute("inventory/run", []byte(`{"id":"k9","by":"officer"}`))
	if r.Status != "ok" || r.Result["trigger"] != "command" || r.Result["all_home"] != true {
		t.Fatalf("inventory: %+v", r)
	}
}
