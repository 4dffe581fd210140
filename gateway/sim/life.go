package sim

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
)

// The demo registers of the life of a room: three people and four carriers
// for the example room (examples/room.yaml).
var (
	//go:embed demo/people.csv
	DemoPeople string
	//go:embed demo/carriers.csv
	DemoCarriers string
)

// Stage is what the life of a room acts on: the simulated devices and the
// room's commands (over MQTT, as `roomguard-gateway life` does).
type Stage interface {
	Input(device, state string) error
	Badge(reader, card string) error
	Tags(reader string, antenna int, epcs ...string) error
	// Command gives a command to the room and returns its refusal, if any.
	Command(ctx context.Context, name string, args map[string]any) error
}

// Life plays a working day in the example room, again and again, so a
// newcomer watching the console sees a living room: people badge in, one
// card is refused, a carrier is signed out and back, a window is left open
// at the end of the day (arming is refused), then the room is armed for the
// night and disarmed in the morning.
type Life struct {
	Stage Stage
	Clock gateway.Clock
	// Speed: 1 plays the day in real time (about 7 minutes); 10 ten times
	// faster. The room's own timers (exit delay, strike) are not sped up.
	Speed float64
	Log   *slog.Logger
	// Room is the room the demo people may enter (default the example's,
	// jiyao-301): a building's rooms each give their own.
	Room string
}

// DayLength is how long one day of the script lasts at speed 1.
const DayLength = 420 * time.Second

// minStep keeps steps apart at any speed, so the room's debouncing sees
// every change.
const minStep = 250 * time.Millisecond

// The devices the script uses; Check tells whether a room has them.
var lifeDevices = []string{"door-main", "window-east", "ir-safes", "safe-b-bolt", "safe-b-door", "reader-outside", "reader-inside", "uhf-safes"}

// Check tells whether the room of cfg has the devices the script plays
// with (the example room's).
func (l *Life) Check(cfg *config.Config) error {
	have := map[string]bool{}
	for _, in := range cfg.Inputs {
		have[in.ID] = true
	}
	for _, s := range cfg.Serial {
		have[s.ID] = true
	}
	var missing []string
	for _, d := range lifeDevices {
		if !have[d] {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("life: the room %s has no %v: the script plays in the example room (examples/room.yaml)", cfg.Room.ID, missing)
	}
	return nil
}

const (
	zhangOut, zhangIn = "62E3086CED", "04A224E5"
	liOut, liIn       = "62E3086CEE", "04A224E2"
	strangerCard      = "1234567890"
	epc1, epc2        = "E2801170200002A1B2C30001", "E2801170200002A1B2C30002"
	epc3, epc4        = "E2801170200002A1B2C30003", "E2801170200002A1B2C30004"
)

// scene is one moment of the day: at (script time from the day's start),
// what happens, and its steps.
type scene struct {
	at    time.Duration
	what  string
	steps []func(ctx context.Context) error
}

// Day plays one day.
func (l *Life) Day(ctx context.Context) error {
	s := l.Stage
	in := func(device, state string) func(context.Context) error {
		return func(context.Context) error { return s.Input(device, state) }
	}
	badge := func(reader, card string) func(context.Context) error {
		return func(context.Context) error { return s.Badge(reader, card) }
	}
	tags := func(antenna int, epcs ...string) func(context.Context) error {
		return func(context.Context) error { return s.Tags("uhf-safes", antenna, epcs...) }
	}
	cmd := func(name string, args map[string]any) func(context.Context) error {
		return func(ctx context.Context) error { return s.Command(ctx, name, args) }
	}
	through := func(reader, card string) []func(context.Context) error { // badge, open, close
		return []func(context.Context) error{badge(reader, card), in("door-main", "open"), in("door-main", "closed")}
	}
	script := []scene{
		{0, "morning: the room as it is left at night, disarmed by 张伟", []func(context.Context) error{
			in("door-main", "closed"), in("window-east", "closed"), in("ir-safes", "idle"),
			in("safe-b-bolt", "locked"), in("safe-b-door", "closed"),
			tags(1, epc1, epc2), tags(2, epc3, epc4),
			cmd("disarm", map[string]any{"by": "p-zhang"})}},
		{5 * time.Second, "张伟 badges in", through("reader-outside", zhangOut)},
		{20 * time.Second, "李娜 badges in", through("reader-outside", liOut)},
		{35 * time.Second, "an unknown card at the door (refused)", []func(context.Context) error{badge("reader-outside", strangerCard)}},
		{45 * time.Second, "movement by the safes", []func(context.Context) error{in("ir-safes", "motion"), in("ir-safes", "idle")}},
		{55 * time.Second, "李娜 signs out 会议纪要 (JM-2026-0004) from safe B", []func(context.Context) error{
			in("safe-b-bolt", "unlocked"), in("safe-b-door", "open"), tags(2, epc3),
			cmd("carrier/signout", map[string]any{"by": "p-zhang", "carrier": "JM-2026-0004", "borrower": "p-li", "purpose": "阅办"}),
			in("safe-b-door", "closed"), in("safe-b-bolt", "locked")}},
		{100 * time.Second, "张伟 opens the east window", []func(context.Context) error{in("window-east", "open")}},
		{150 * time.Second, "李娜 returns 会议纪要 to safe B", []func(context.Context) error{
			in("safe-b-bolt", "unlocked"), in("safe-b-door", "open"), tags(2, epc3, epc4),
			cmd("carrier/return", map[string]any{"by": "p-zhang", "carrier": "JM-2026-0004"}),
			in("safe-b-door", "closed"), in("safe-b-bolt", "locked")}},
		{180 * time.Second, "李娜 badges out", through("reader-inside", liIn)},
		{200 * time.Second, "张伟 badges out, leaving the east window open", through("reader-inside", zhangIn)},
		{210 * time.Second, "张伟 tries to arm the room (refused: the window is open)", []func(context.Context) error{
			cmd("arm", map[string]any{"by": "p-zhang"})}},
		{300 * time.Second, "张伟 comes back and shuts the window", append(append(through("reader-outside", zhangOut),
			in("window-east", "closed")), through("reader-inside", zhangIn)...)},
		{330 * time.Second, "张伟 arms the room for the night", []func(context.Context) error{cmd("arm", map[string]any{"by": "p-zhang"})}},
	}
	start := l.Clock.Now()
	for _, sc := range script {
		if err := l.sleep(ctx, sc.at-l.scriptTime(start)); err != nil {
			return err
		}
		l.Log.Info("life: " + sc.what)
		for i, step := range sc.steps {
			if i > 0 {
				if err := l.sleep(ctx, time.Second); err != nil {
					return err
				}
			}
			if err := step(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				l.Log.Warn("life: "+sc.what, "err", err) // refusals are part of the story
			}
		}
	}
	return l.sleep(ctx, DayLength-l.scriptTime(start))
}

// Run plays days until ctx ends (days 0) or that many were played. It
// first gives the room the demo registers, unless it holds some already.
func (l *Life) Run(ctx context.Context, days int) error {
	people := DemoPeople
	if l.Room != "" {
		people = strings.ReplaceAll(people, ",jiyao-301,", ","+l.Room+",")
	}
	for _, r := range []struct{ name, csv string }{{"personnel/replace", people}, {"carriers/replace", DemoCarriers}} {
		if err := l.Stage.Command(ctx, r.name, map[string]any{"by": "p-li", "version": 1, "csv": r.csv}); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			l.Log.Info("life: the room keeps its own register", "cmd", r.name, "why", err)
		}
	}
	for day := 1; days == 0 || day <= days; day++ {
		if err := l.Day(ctx); err != nil {
			return err
		}
	}
	return nil
}

// scriptTime is how far into the script the day is.
func (l *Life) scriptTime(start time.Time) time.Duration {
	return time.Duration(float64(l.Clock.Now().Sub(start)) * l.speed())
}

func (l *Life) speed() float64 { return max(l.Speed, 0.001) }

// sleep waits d of script time (at least minStep).
func (l *Life) sleep(ctx context.Context, d time.Duration) error {
	real := max(time.Duration(float64(d)/l.speed()), minStep)
	done := make(chan struct{})
	stop := l.Clock.AfterFunc(real, func() { close(done) })
	defer stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return nil
	}
}
