package room_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway"
)

// 四防 (issue 32, item 5): smoke and water alarm in every mode, as tamper
// does: fire at priority 1 and sounding, water at priority 2; either
// active refuses arming; neither can be bypassed; each alarm is restored
// with its input.
func TestFireAndWaterAlarmInEveryMode(t *testing.T) {
	g := newGuarded(t)
	if g.mode() != gateway.ModeOpen {
		t.Fatalf("mode %s", g.mode())
	}
	g.set("smoke-1", true)
	g.expect("fire.detected", "alarm.raised", "output.on")
	if a := g.alarm(gateway.AlarmFire); a.Priority != 1 || a.Device != "smoke-1" {
		t.Fatalf("fire %+v", a)
	}
	err := g.panel.Arm("li.ming")
	var ref *gateway.RefusedError
	if !errors.As(err, &ref) || fmt.Sprint(ref.Reasons) == "" || ref.Reasons[0].Code != "fire" {
		t.Fatalf("arming with smoke: %v", err)
	}
	g.news()
	g.set("smoke-1", false)
	if !g.alarm(gateway.AlarmFire).Restored() {
		t.Fatal("the fire alarm is not restored with its input")
	}
	g.set("leak-1", true)
	if a := g.alarm(gateway.AlarmWater); a.Priority != 2 {
		t.Fatalf("water %+v", a)
	}
	if err := g.panel.SetBypass("li.ming", "test", []string{"leak-1"}); code(err) != gateway.EINVALID {
		t.Fatalf("bypassing a water sensor: %v", err)
	}
}

// 防潮 (issue 32, item 5): a climate sensor's readings. Within the limits
// they are shown (the retained state carries the reading) and not logged;
// too damp is the environment alarm, in any mode, logged with the reading
// and why; back under the limit but not past the hysteresis nothing
// changes; past it the alarm is restored with the sensor. Too hot and too
// cold likewise; arming is not refused for the climate.
func TestClimateReadings(t *testing.T) {
	g := newGuarded(t)
	read := func(temp, hum float64) {
		t.Helper()
		if err := g.engine.Reading("th-1", gateway.Reading{Temperature: temp, Humidity: hum}, g.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	read(22.5, 55)
	read(23, 69.9)
	g.expect()
	if st := g.states.last("th-1"); st.Reading == nil || st.Reading.Humidity != 69.9 || st.Active {
		t.Fatalf("the retained state %+v", st)
	}
	read(23, 74.2)
	g.expect("environment.out-of-range", "alarm.raised")
	a := g.alarm(gateway.AlarmEnvironment)
	if a.Device != "th-1" || a.Priority != 4 || !strings.Contains(a.Detail, "too damp: 74.2 % RH (limit 70 %)") {
		t.Fatalf("the alarm %+v", a)
	}
	evs := g.logged(0)
	var ev gateway.Event
	for _, e := range evs {
		if e.Type == "environment.out-of-range" {
			ev = e
		}
	}
	var data struct {
		Reading gateway.Reading
		Why     string
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil || data.Reading.Humidity != 74.2 || !strings.Contains(data.Why, "too damp") {
		t.Fatalf("the event's data %s (%v)", ev.Data, err)
	}
	if st := g.states.last("th-1"); !st.Active || st.State != "out-of-range" || st.Reading.Humidity != 74.2 {
		t.Fatalf("the retained state %+v", st)
	}
	read(23, 68.5) // under the limit, not 3 % under
	g.expect()
	if !g.states.last("th-1").Active {
		t.Fatal("normal within the hysteresis")
	}
	if g.alarm(gateway.AlarmEnvironment).Restored() {
		t.Fatal("restored within the hysteresis")
	}
	read(23, 66.9)
	g.expect("environment.normal", "alarm.restored")
	if !g.alarm(gateway.AlarmEnvironment).Restored() {
		t.Fatal("not restored past the hysteresis")
	}
	if err := g.panel.Arm("li.ming"); err != nil {
		t.Fatalf("arming with an environment alarm open: %v", err)
	}
	g.news()
	// The alarm latches until acknowledged: too hot, then too cold, repeat it.
	read(36.5, 50)
	g.expect("environment.out-of-range", "alarm.repeated")
	if a := g.alarm(gateway.AlarmEnvironment); a.Count != 2 {
		t.Fatalf("the alarm %+v", a)
	}
	read(22, 50)
	g.news()
	read(3, 40)
	g.expect("environment.out-of-range", "alarm.repeated")
	if err := g.engine.Reading("door-main", gateway.Reading{}, g.clock.Now()); code(err) != gateway.ENOTFOUND {
		t.Fatalf("a reading for a door: %v", err)
	}
}

func TestClimateLimitsCheck(t *testing.T) {
	l := gateway.DefaultClimateLimits
	for _, c := range []struct {
		r      gateway.Reading
		wasOut bool
		out    bool
		why    string
	}{
		{gateway.Reading{Temperature: 22, Humidity: 55}, false, false, ""},
		{gateway.Reading{Temperature: 22, Humidity: 70}, false, false, ""},
		{gateway.Reading{Temperature: 22, Humidity: 70.1}, false, true, "too damp"},
		{gateway.Reading{Temperature: 22, Humidity: 68}, true, true, "too damp"},
		{gateway.Reading{Temperature: 22, Humidity: 66.9}, true, false, ""},
		{gateway.Reading{Temperature: 35.5, Humidity: 50}, false, true, "too hot"},
		{gateway.Reading{Temperature: 34.5, Humidity: 50}, true, true, "too hot"},
		{gateway.Reading{Temperature: 33.9, Humidity: 50}, true, false, ""},
		{gateway.Reading{Temperature: 4.9, Humidity: 50}, false, true, "too cold"},
		{gateway.Reading{Temperature: 5.5, Humidity: 50}, true, true, "too cold"},
	} {
		out, why := l.Check(c.r, c.wasOut)
		if out != c.out || !strings.HasPrefix(why, c.why) || (c.why == "") != (why == "") {
			t.Errorf("%+v (was out %v): %v %q, want %v %q", c.r, c.wasOut, out, why, c.out, c.why)
		}
	}
}
