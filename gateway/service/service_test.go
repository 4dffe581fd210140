package service_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/service"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/wire"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// room records what the jobs ask of the room.
type room struct {
	mu          sync.Mutex
	store       *sqlite.Store
	raised      []string
	restored    []string
	faults      []string
	checkpoints int
}

func (r *room) Checkpoint() (uint64, error) {
	r.mu.Lock()
	r.checkpoints++
	r.mu.Unlock()
	evs, err := r.store.Append(gateway.Event{Type: "test.checkpoint", Severity: gateway.SeverityInfo})
	if err != nil {
		return 0, err
	}
	return evs[0].Seq, nil
}

func (r *room) Raise(class gateway.AlarmClass, device, detail string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.raised = append(r.raised, string(class)+" "+detail)
	return "a-1", nil
}

func (r *room) Restore(class gateway.AlarmClass, device string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restored = append(r.restored, string(class))
	return nil
}

func (r *room) Fault(what string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, what+": "+err.Error())
}

func (r *room) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checkpoints
}

func open(t *testing.T, clock gateway.Clock) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "log.db"), "jiyao-301", clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// The storage watch, without a daemon: low at 92 % used, said once, given
// back with room again.
func TestStorageWatch(t *testing.T) {
	r := &room{}
	j := &service.Jobs{Room: r, Log: quiet}
	const mb = 1 << 20
	total, free := uint64(1000*mb), uint64(500*mb)
	space := func() (uint64, uint64, error) { return total, free, nil }
	low := j.CheckStorage(config.Storage{}, space, false)
	free = 80 * mb
	low = j.CheckStorage(config.Storage{}, space, low)
	low = j.CheckStorage(config.Storage{}, space, low) // still low: not raised again
	free = 400 * mb
	low = j.CheckStorage(config.Storage{}, space, low)
	if low || len(r.raised) != 1 || !strings.Contains(r.raised[0], "storage-low") || len(r.restored) != 1 {
		t.Fatalf("low %v, raised %v, restored %v", low, r.raised, r.restored)
	}
}

// The hourly checkpoint goes through the room, and only when events were
// logged since the last.
func TestCheckpointHourly(t *testing.T) {
	clock := clocktest.New(t0)
	store := open(t, clock)
	r := &room{store: store}
	if _, err := store.Append(gateway.Event{Type: "door.opened", Severity: gateway.SeverityInfo}); err != nil {
		t.Fatal(err)
	}
	j := &service.Jobs{Room: r, Store: store, Clock: clock, Log: quiet}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); j.CheckpointHourly(ctx) }()
	waitTimer := func() {
		for clock.Pending() == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	waitTimer()
	if _, err := store.Append(gateway.Event{Type: "door.closed", Severity: gateway.SeverityInfo}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(gateway.CheckpointPeriod)
	waitTimer()
	if n := r.count(); n != 1 {
		t.Fatalf("%d checkpoints after an hour with events, want 1", n)
	}
	clock.Advance(gateway.CheckpointPeriod) // nothing new since
	waitTimer()
	if n := r.count(); n != 1 {
		t.Fatalf("%d checkpoints after a quiet hour, want still 1", n)
	}
	cancel()
	<-done
}

// retained keeps what the registers publish.
type retained struct{ personnel, carriers, calldown json.RawMessage }

func (r *retained) Personnel(p json.RawMessage)       { r.personnel = p }
func (r *retained) CarrierRegister(p json.RawMessage) { r.carriers = p }
func (r *retained) Calldown(p json.RawMessage)        { r.calldown = p }

// A carrier register whose homes are not the room's safes is refused,
// naming each, and changes nothing.
func TestCarriersHomeRule(t *testing.T) {
	clock := clocktest.New(t0)
	store := open(t, clock)
	c := &service.Carriers{Registers: registers{store}, Store: store, Limits: config.DefaultLimits(), Retained: &retained{}, Room: "jiyao-301", Safes: []string{"safe-a"}, Clock: clock}
	csv := "id,epc,title,class,kind,home,custodian\nJM-1,E2000017221101441890ABCD,文件一,secret,document,safe-b,p-li\n"
	_, err := c.ReplaceCarriers(csv, 1, "p-li")
	if gateway.ErrorCode(err) != gateway.EINVALID || !strings.Contains(err.Error(), `JM-1: home "safe-b"`) {
		t.Fatalf("a home that is no safe of the room: %v", err)
	}
	if ri, err := store.CarrierRegister(); err != nil || ri.Version != 0 {
		t.Fatalf("the register after the refusal: %+v, %v", ri, err)
	}
}

// registers replaces a register in a change of its own, as the room does
// in its change (room.Room.ReplaceRegister).
type registers struct{ store *sqlite.Store }

func (r registers) ReplaceRegister(reg gateway.RegisterChange) error {
	_, err := r.store.SaveChange(&gateway.Change{Registers: []gateway.RegisterChange{reg}})
	return err
}

// notifier is the call-down in force.
type notifier struct{ l wire.Calldown }

func (n *notifier) Replace(l wire.Calldown) { n.l = l }
func (n *notifier) ListNow() wire.Calldown  { return n.l }

// A console's call-down is held to the one rule: a bad one is refused with
// its faults named and changes nothing; a good one is kept in the log, put
// in force and published as the console's.
func TestCalldownReplace(t *testing.T) {
	clock := clocktest.New(t0)
	store := open(t, clock)
	n, ret := &notifier{}, &retained{}
	c := &service.Calldown{Registers: registers{store}, Room: "jiyao-301", Means: wire.Means{Modem: true}, Webhooks: map[string]bool{}, Store: store, Notifier: n, Retained: ret, Clock: clock}
	bad := `{"people":[{"id":"p-li","phone":"13800000000"}],"calldown":[{"steps":[{"after":"0s","people":["p-li","p-zhao"]}]}]}`
	if _, err := c.ReplaceCalldown(json.RawMessage(bad), 1, "p-li"); gateway.ErrorCode(err) != gateway.EINVALID || !strings.Contains(err.Error(), `"p-zhao" is not one of the people`) {
		t.Fatalf("a step naming nobody listed: %v", err)
	}
	if doc, _, err := store.Calldown(); err != nil || doc != nil || n.l.Rules != nil {
		t.Fatalf("after the refusal: the log holds %s (%v), in force %+v", doc, err, n.l)
	}
	good := `{"people":[{"id":"p-li","phone":"13800000000"},{"id":"p-zhao","phone":"13900000000"}],"calldown":[{"steps":[{"after":"0s","people":["p-li","p-zhao"]}]}]}`
	if _, err := c.ReplaceCalldown(json.RawMessage(good), 1, "p-li"); err != nil {
		t.Fatal(err)
	}
	if doc, ri, err := store.Calldown(); err != nil || doc == nil || ri.Version != 1 || len(n.l.People) != 2 || !strings.Contains(string(ret.calldown), `"source":"console"`) {
		t.Fatalf("after the replacement: log %s v%d (%v), in force %+v, published %s", doc, ri.Version, err, n.l, ret.calldown)
	}
}

// recorder is a room's log that refuses the events it is told to.
type recorder struct {
	mu     sync.Mutex
	logged []string
	refuse string
	faults []string
}

func (r *recorder) Log(ev gateway.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.Type == r.refuse {
		return gateway.Errorf(gateway.ESTORAGE, "the log cannot write")
	}
	r.logged = append(r.logged, ev.Type)
	return nil
}

func (r *recorder) Fault(what string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, what)
}

// The call-down's records wait for the room (built after the notifier),
// reach its log in order, the ones still waiting at the end too; one the
// log refuses is a gateway fault.
func TestDeliveriesReachTheRoomInOrder(t *testing.T) {
	d := service.NewDeliveries()
	for _, typ := range []string{"notify.sent", "notify.failed", "notify.sent"} {
		if err := d.Log(gateway.Event{Type: typ}); err != nil { // before the room runs them
			t.Fatal(err)
		}
	}
	r := &recorder{refuse: "notify.failed"}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // ended already: what waits is still logged
	d.Run(ctx, r)
	if strings.Join(r.logged, " ") != "notify.sent notify.sent" || len(r.faults) != 1 || !strings.Contains(r.faults[0], "notify.failed") {
		t.Fatalf("logged %v, faults %v", r.logged, r.faults)
	}
}
