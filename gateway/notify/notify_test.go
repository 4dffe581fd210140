package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/notify"
)

var t0 = time.Date(2026, 11, 27, 3, 12, 40, 0, time.UTC)

type sent struct{ person, channel, msg string }

// channel records what it sends; failing people get an error.
type channel struct {
	name string
	mu   sync.Mutex
	got  []sent
	fail map[string]bool
}

func (c *channel) Send(_ context.Context, p notify.Person, msg string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail[p.ID] {
		return errors.New("the network refused it")
	}
	c.got = append(c.got, sent{p.ID, c.name, msg})
	return nil
}

func (c *channel) people() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.got {
		out = append(out, s.person)
	}
	return strings.Join(out, " ")
}

type events struct {
	mu  sync.Mutex
	evs []gateway.Event
}

func (l *events) Log(ev gateway.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
	return nil
}

func (l *events) types() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.evs {
		var d struct{ Person string }
		json.Unmarshal(e.Data, &d)
		out = append(out, e.Type+":"+d.Person)
	}
	return strings.Join(out, " ")
}

type sink struct{}

func (sink) Mode(json.RawMessage)               {}
func (sink) Alarm(string, json.RawMessage)      {}
func (sink) SealReport(string, json.RawMessage) {}

func alarmJSON(id, class, state string, priority int) json.RawMessage {
	return fmt.Appendf(nil, `{"room":"jiyao-301","id":%q,"class":%q,"priority":%d,"state":%q,"device":"ir-safes","raised_at":"2026-11-27T03:12:40.000Z"}`,
		id, class, priority, state)
}

func setup(t *testing.T) (*notify.Notifier, *clocktest.Clock, *channel, *events) {
	return setupWith(t, time.Minute)
}

// setupWith calls the guard at once, the officer after officerAfter and
// the leader two minutes later.
func setupWith(t *testing.T, officerAfter time.Duration) (*notify.Notifier, *clocktest.Clock, *channel, *events) {
	clock := clocktest.New(t0)
	sms := &channel{name: "sms", fail: map[string]bool{}}
	log := &events{}
	cfg := notify.Config{Room: "jiyao-301", RoomName: "机要室 301", Zone: time.FixedZone("CST", 8*3600), Devices: map[string]string{"ir-safes": "保密柜区红外"},
		People: []notify.Person{{ID: "guard", Name: "值班保安", Phone: "13800000001"}, {ID: "officer", Name: "保密员", Phone: "13800000002"},
			{ID: "leader", Name: "分管领导", Phone: "13800000003"}},
		Rules: []notify.Rule{{MaxPriority: 2, Steps: []notify.Step{{After: 0, People: []string{"guard"}},
			{After: officerAfter, People: []string{"officer"}}, {After: officerAfter + 2*time.Minute, People: []string{"leader"}}}}}}
	if c := cfg.CheckCritical(); c != "" {
		t.Fatalf("a critical class reaches one person: %s", c)
	}
	return notify.New(cfg, clock, log, map[string]notify.Channel{"sms": sms}, sink{}), clock, sms, log
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The guard at once, the officer after a minute, the leader after three;
// acknowledging stops the rest.
func TestCallDownEscalatesUntilAcknowledged(t *testing.T) {
	n, clock, sms, log := setup(t)
	n.Alarm("a1", alarmJSON("a1", "intrusion", "active", 1))
	clock.Advance(0)
	eventually(t, "the guard told", func() bool { return sms.people() == "guard" })
	// Issue 28: the device by its name, the priority in words.
	if got := sms.got[0].msg; got != "【机要室 301】一级报警：入侵（保密柜区红外），11-27 11:12:40。请立即处置，处置后在值班台确认。" {
		t.Fatalf("message %q", got)
	}
	n.Alarm("a1", alarmJSON("a1", "intrusion", "active", 1)) // published again (a repeat): no second call-down
	clock.Advance(time.Minute)
	eventually(t, "the officer told", func() bool { return sms.people() == "guard officer" })
	n.Alarm("a1", alarmJSON("a1", "intrusion", "acknowledged", 1))
	clock.Advance(5 * time.Minute)
	time.Sleep(50 * time.Millisecond)
	if sms.people() != "guard officer" {
		t.Fatalf("told after the acknowledgement: %s", sms.people())
	}
	if got := log.types(); got != "notify.sent:guard notify.sent:officer" {
		t.Fatalf("events: %s", got)
	}
	// A low-priority alarm matches no rule: nobody is woken for it.
	n.Alarm("a2", alarmJSON("a2", "door-held-open", "active", 3))
	clock.Advance(10 * time.Minute)
	time.Sleep(20 * time.Millisecond)
	if sms.people() != "guard officer" {
		t.Fatalf("told of a P3: %s", sms.people())
	}
}

// A failing delivery is retried with backoff, then notify.failed, and the
// next person in the list is reached at once.
func TestFailingDeliveryEscalates(t *testing.T) {
	n, clock, sms, log := setupWith(t, 10*time.Minute) // the officer's own step far later than the retries
	sms.fail["guard"] = true
	n.Alarm("a1", alarmJSON("a1", "tamper", "active", 1))
	// The retries wait on the clock: move it a second at a time (a retry's
	// wait may be set a little after a move) until the guard's delivery
	// has failed, well before the officer's own step.
	for i := 0; !strings.Contains(log.types(), "notify.failed:guard"); i++ {
		if i > 200 {
			t.Fatalf("the guard's delivery never failed: %s", log.types())
		}
		clock.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	eventually(t, "the officer told at once", func() bool { return sms.people() == "officer" })
	if got := log.types(); got != "notify.failed:guard notify.sent:officer" {
		t.Fatalf("events: %s", got)
	}
	log.mu.Lock()
	var d map[string]any
	json.Unmarshal(log.evs[0].Data, &d)
	log.mu.Unlock()
	if d["attempts"] != float64(len(notify.Retries)+1) || !strings.Contains(fmt.Sprint(d["error"]), "refused") {
		t.Fatalf("the failure: %v", d)
	}
	clock.Advance(15 * time.Minute) // the officer's own step already run; the leader's comes
	eventually(t, "the leader told at their time, the officer not again", func() bool { return sms.people() == "officer leader" })
}

func TestCriticalReachesTwo(t *testing.T) {
	cfg := notify.Config{People: []notify.Person{{ID: "guard"}}, Rules: []notify.Rule{{Steps: []notify.Step{{People: []string{"guard"}}}}}}
	if c := cfg.CheckCritical(); c != "intrusion" {
		t.Fatalf("one person for intrusions: %q", c)
	}
}

// Issue 28, item 1: an alarm raised already restored (command-forgery,
// denied-burst, an exit fault: a momentary cause) starts its call-down
// like any other, until acknowledged.
func TestAlarmRaisedRestoredStartsItsCallDown(t *testing.T) {
	n, clock, sms, log := setup(t)
	n.Alarm("f1", alarmJSON("f1", "command-forgery", "restored", 2))
	clock.Advance(0)
	eventually(t, "the guard told of a forgery raised restored", func() bool { return sms.people() == "guard" })
	clock.Advance(time.Minute)
	eventually(t, "the officer after a minute", func() bool { return sms.people() == "guard officer" })
	n.Alarm("f1", alarmJSON("f1", "command-forgery", "acknowledged", 2))
	n.Alarm("f1", nil) // closed
	clock.Advance(10 * time.Minute)
	time.Sleep(20 * time.Millisecond)
	if got := log.types(); got != "notify.sent:guard notify.sent:officer" {
		t.Fatalf("events: %s", got)
	}
}

// slowChannel records when each Send begins in a shared order, and holds
// every Send until released.
type slowChannel struct {
	name    string
	order   *[]string
	mu      *sync.Mutex
	release chan struct{}
}

func (c slowChannel) Send(ctx context.Context, p notify.Person, _ string) error {
	c.mu.Lock()
	*c.order = append(*c.order, c.name+":"+p.ID)
	c.mu.Unlock()
	if c.release != nil {
		select {
		case <-c.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Issue 28, item 2: a step's channels go out together where they can: the
// SMS first, the call only once the SMS is on its way; a webhook of the
// same step is not held up by the modem.
func TestMixedStepSendsTheSMSFirst(t *testing.T) {
	clock := clocktest.New(t0)
	var mu sync.Mutex
	var order []string
	release := make(chan struct{})
	cfg := notify.Config{Room: "jiyao-301", RoomName: "机要室 301",
		People: []notify.Person{{ID: "guard", Name: "值班保安", Phone: "13800000001"}, {ID: "officer", Name: "保密员", Phone: "13800000002"}},
		Rules:  []notify.Rule{{MaxPriority: 2, Steps: []notify.Step{{People: []string{"guard", "officer"}, Channels: []string{"call", "webhook", "sms"}}}}}}
	n := notify.New(cfg, clock, &events{}, map[string]notify.Channel{
		"sms":     slowChannel{name: "sms", order: &order, mu: &mu, release: release},
		"call":    slowChannel{name: "call", order: &order, mu: &mu},
		"webhook": slowChannel{name: "webhook", order: &order, mu: &mu},
	}, sink{})
	n.Alarm("a1", alarmJSON("a1", "intrusion", "active", 1))
	clock.Advance(0)
	got := func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(order, " ") }
	eventually(t, "both SMS and both webhooks under way", func() bool {
		return strings.Count(got(), "sms:") == 2 && strings.Count(got(), "webhook:") == 2
	})
	time.Sleep(50 * time.Millisecond)
	if strings.Contains(got(), "call:") {
		t.Fatalf("a call before its step's SMS was on its way: %s", got())
	}
	close(release)
	eventually(t, "the calls", func() bool { return strings.Count(got(), "call:") == 2 })
}
