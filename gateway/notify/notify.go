// Package notify reaches people when the room raises an alarm (issue 20):
// the call-down list says who is told about which alarms, in which order,
// with escalation steps; each delivery goes through a channel (an SMS or a
// call through the room's own modem, …), is retried with backoff, and is
// logged as notify.sent or notify.failed. Acknowledging the alarm stops
// the call-down. It watches the room's alarms as they are published (it is
// a gateway.PanelSink in front of the real one), so it sees exactly what
// the guards see.
package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/roomguard/roomguard/devices/modem"
	"github.com/roomguard/roomguard/gateway"
)

// Person is someone the call-down reaches, and how.
type Person struct {
	ID, Name string
	Phone    string   // for sms and call
	Email    string   // for email
	Webhook  *Webhook // for webhook: a group robot or an integration
}

// Step is one rung of a call-down: After the alarm is raised, these people
// are told through these channels.
type Step struct {
	After    time.Duration
	People   []string // Person ids
	Channels []string // "sms", "call", "email", "webhook"; default sms
}

// Rule is a call-down list for the alarms it matches: by class, or by
// priority (at most MaxPriority: 1 is the highest); a rule with neither
// matches every alarm.
type Rule struct {
	Classes     []gateway.AlarmClass
	MaxPriority int
	Steps       []Step
}

// Channel delivers one message to one person.
type Channel interface {
	Send(ctx context.Context, p Person, message string) error
}

// Log is where deliveries are recorded: the room's one commit path.
type Log interface {
	Log(ev gateway.Event) error
}

// Retries are the waits between the attempts of one delivery; then it is
// notify.failed and the call-down goes on to the next step at once.
var Retries = []time.Duration{5 * time.Second, 15 * time.Second, 45 * time.Second}

// Config is a room's notification.
type Config struct {
	Room     string
	RoomName string
	People   []Person
	Rules    []Rule
	Zone     *time.Location // the times in messages (default the clock's)
	// Devices are the room's devices' names by id: a message names the
	// device as a person knows it (issue 28: "（window-east）" for 东窗).
	Devices map[string]string
}

// CheckCritical says which critical class the call-down lists would not
// bring to two distinct people ("": all do).
func (c Config) CheckCritical() string { return c.List().Uncovered() }

// rule is the first rule matching an alarm (the list's rule, in force).
func (c Config) rule(class gateway.AlarmClass, priority int) *Rule {
	if i := c.List().Match(class, priority); i >= 0 {
		return &c.Rules[i]
	}
	return nil
}

// Notifier runs the call-downs of one room.
type Notifier struct {
	cfg      Config
	clock    gateway.Clock
	log      Log
	channels map[string]Channel
	next     gateway.PanelSink

	mu     sync.Mutex
	active map[string]*callDown // by alarm id
	people map[string]Person
}

type callDown struct {
	alarm  alarm
	ctx    context.Context
	cancel context.CancelFunc
	timers []func() bool
	step   int // the next step to run
}

type alarm struct {
	ID       string             `json:"id"`
	Class    gateway.AlarmClass `json:"class"`
	Priority int                `json:"priority"`
	State    string             `json:"state"`
	Device   string             `json:"device"`
	Detail   string             `json:"detail"`
	RaisedAt time.Time          `json:"raised_at"`
}

// New returns the notifier of cfg, passing every alarm on to next.
func New(cfg Config, clock gateway.Clock, log Log, channels map[string]Channel, next gateway.PanelSink) *Notifier {
	n := &Notifier{cfg: cfg, clock: clock, log: log, channels: channels, next: next, active: map[string]*callDown{}, people: map[string]Person{}}
	for _, p := range cfg.People {
		n.people[p.ID] = p
	}
	return n
}

// Mode implements gateway.PanelSink.
func (n *Notifier) Mode(payload json.RawMessage) { n.next.Mode(payload) }

// SealReport implements gateway.PanelSink.
func (n *Notifier) SealReport(id string, payload json.RawMessage) { n.next.SealReport(id, payload) }

// Alarm implements gateway.PanelSink: a new alarm starts its call-down,
// active or raised already restored (a momentary cause: command-forgery,
// denied-burst, an exit fault; issue 28); acknowledged or closed, it stops.
func (n *Notifier) Alarm(id string, payload json.RawMessage) {
	n.next.Alarm(id, payload)
	var a alarm
	if len(payload) > 0 && json.Unmarshal(payload, &a) != nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	cd := n.active[id]
	switch {
	case len(payload) == 0 || a.State == "acknowledged":
		if cd != nil {
			cd.stop()
			delete(n.active, id)
		}
	case cd == nil && (a.State == "active" || a.State == "restored"): // raised restored: a momentary cause, told all the same
		r := n.cfg.rule(a.Class, a.Priority)
		if r == nil || a.Class == "" {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		cd = &callDown{alarm: a, ctx: ctx, cancel: cancel}
		n.active[id] = cd
		for i, s := range r.Steps {
			i := i
			cd.timers = append(cd.timers, n.clock.AfterFunc(s.After, func() { go n.run(cd, r, i) }))
		}
	}
}

func (cd *callDown) stop() {
	cd.cancel()
	for _, stop := range cd.timers {
		stop()
	}
}

// run takes one step of a call-down (its timer, or the step before it
// failed to reach anyone): each person through each channel.
func (n *Notifier) run(cd *callDown, r *Rule, i int) {
	n.mu.Lock()
	if cd.ctx.Err() != nil || i < cd.step {
		n.mu.Unlock()
		return // stopped, or already run early
	}
	cd.step = i + 1
	n.mu.Unlock()
	s := r.Steps[i]
	channels := s.Channels
	if len(channels) == 0 {
		channels = []string{"sms"}
	}
	reached := false
	var wg sync.WaitGroup
	var mu sync.Mutex
	// A step's channels go out together (a webhook never waits for the
	// modem), but a call only once the step's SMS are on their way: the
	// SMS carries the words, and the modem takes an SMS ahead of a call it
	// has not started (issue 28: the SMS went 30 s after the call).
	var texts sync.WaitGroup
	for _, id := range s.People {
		if _, ok := n.people[id]; ok && slices.Contains(channels, "sms") && slices.Contains(channels, "call") {
			texts.Add(1)
		}
	}
	for _, id := range s.People {
		p, ok := n.people[id]
		if !ok {
			continue
		}
		for _, ch := range channels {
			wg.Go(func() {
				var started func()
				switch {
				case ch == "sms" && slices.Contains(channels, "call"):
					started = sync.OnceFunc(texts.Done)
					defer started()
				case ch == "call" && slices.Contains(channels, "sms"):
					texts.Wait()
				}
				if n.deliver(cd, p, ch, i, started) {
					mu.Lock()
					reached = true
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if !reached && i+1 < len(r.Steps) && cd.ctx.Err() == nil {
		n.run(cd, r, i+1) // nobody reached: the next people at once
	}
}

// deliver sends one message through one channel, retrying; it logs what
// became of it and says whether it got through. started, when set, is
// called once the first attempt is handed to the channel.
func (n *Notifier) deliver(cd *callDown, p Person, channel string, step int, started func()) bool {
	ch := n.channels[channel]
	msg := n.message(cd.alarm)
	var err error
	for attempt := 0; ; attempt++ {
		if cd.ctx.Err() != nil {
			return false // acknowledged meanwhile
		}
		if ch == nil {
			err = fmt.Errorf("no %s channel in this room", channel)
		} else {
			ctx, cancel := context.WithTimeout(cd.ctx, 2*time.Minute)
			if started != nil {
				// The modem says when it has the SMS: a call may queue
				// behind it from then on (or once the first try is over).
				ctx = modem.OnQueued(ctx, started)
			}
			err = ch.Send(ctx, p, msg)
			cancel()
			if started != nil {
				started()
			}
		}
		if err == nil {
			n.record(cd, "notify.sent", gateway.SeverityInfo, p, channel, step, attempt+1, nil)
			return true
		}
		if attempt >= len(Retries) || ch == nil {
			break
		}
		wait := make(chan struct{})
		stop := n.clock.AfterFunc(Retries[attempt], func() { close(wait) })
		select {
		case <-wait:
		case <-cd.ctx.Done():
			stop()
			return false
		}
	}
	n.record(cd, "notify.failed", gateway.SeverityWarning, p, channel, step, len(Retries)+1, err)
	return false
}

func (n *Notifier) record(cd *callDown, typ string, sev gateway.Severity, p Person, channel string, step, attempts int, err error) {
	data := map[string]any{"alarm": cd.alarm.ID, "class": cd.alarm.Class, "person": p.ID, "name": p.Name, "channel": channel,
		"step": step + 1, "attempts": attempts}
	if err != nil {
		data["error"] = err.Error()
	}
	b, merr := json.Marshal(data)
	if merr == nil {
		merr = n.log.Log(gateway.Event{Type: typ, Severity: sev, Device: cd.alarm.Device, Data: b})
	}
	if merr != nil {
		slog.Error("notify: a delivery not recorded", "type", typ, "person", p.ID, "alarm", cd.alarm.ID, "err", merr)
	}
}

// message is what a person reads: the room, the alarm, the time.
func (n *Notifier) message(a alarm) string {
	zone := n.cfg.Zone
	if zone == nil {
		zone = time.Local
	}
	at := a.RaisedAt
	if at.IsZero() {
		at = n.clock.Now()
	}
	name := n.cfg.RoomName
	if name == "" {
		name = n.cfg.Room
	}
	what := ClassNames[a.Class]
	if what == "" {
		what = string(a.Class)
	}
	device := ""
	if a.Device != "" {
		device = "（" + cmp.Or(n.cfg.Devices[a.Device], a.Device) + "）"
	}
	level := PriorityNames[a.Priority]
	if level == "" {
		level = fmt.Sprintf("%d级", a.Priority)
	}
	return fmt.Sprintf("【%s】%s报警：%s%s，%s。请立即处置，处置后在值班台确认。", name, level, what, device, at.In(zone).Format("01-02 15:04:05"))
}

// PriorityNames are the alarm priorities as people are told of them (not
// "P2": issue 28).
var PriorityNames = map[int]string{1: "一级", 2: "二级", 3: "三级", 4: "四级", 5: "五级"}

// ClassNames are the alarm classes in Chinese, as people are told of them.
var ClassNames = map[gateway.AlarmClass]string{
	gateway.AlarmIntrusion: "入侵", gateway.AlarmSealBroken: "封存被破坏", gateway.AlarmTamper: "防拆",
	gateway.AlarmDeviceFault: "设备故障", gateway.AlarmPanic: "紧急求助", gateway.AlarmDuress: "胁迫",
	gateway.AlarmSafeOpened: "保密柜被打开", gateway.AlarmDoorForced: "门被强行打开", gateway.AlarmDoorHeldOpen: "门长时间未关",
	gateway.AlarmDeniedBurst: "连续刷卡被拒", gateway.AlarmCarrierRemoval: "涉密载体被带出", gateway.AlarmCarrierOverdue: "涉密载体逾期未还",
	gateway.AlarmBoardSilent: "控制板失联", gateway.AlarmUnescorted: "访客无人陪同", gateway.AlarmSafeLeftOpen: "保密柜未上锁",
	gateway.AlarmExitFault: "布防时有防区未就绪", gateway.AlarmGatewayFault: "网关故障", gateway.AlarmForgery: "伪造指令",
	gateway.AlarmLogTampered: "日志被篡改", gateway.AlarmStorageLow: "存储空间不足",
	gateway.AlarmCarrierMissing: "清点发现涉密载体缺失", gateway.AlarmCarrierLost: "涉密载体丢失", gateway.AlarmResurrected: "已销毁/清退的涉密载体再次出现", gateway.AlarmFire: "火情（烟感报警）", gateway.AlarmWater: "漏水",
}

var _ gateway.PanelSink = (*Notifier)(nil)
