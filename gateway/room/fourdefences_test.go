package room_test

import (
	"errors"
	"fmt"
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
