package contact

import (
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type step struct {
		at      int
		active  bool
		changed bool
		since   int
	}
	cases := []struct {
		name   string
		window time.Duration
		steps  []step
	}{
		{"holds, then counts from first sight", 50 * time.Millisecond, []step{
			{0, true, false, 0}, {20, true, false, 0}, {50, true, true, 0}, {60, true, false, 0}}},
		{"bounce is ignored", 50 * time.Millisecond, []step{
			{0, true, false, 0}, {10, false, false, 0}, {20, true, false, 0}, {60, true, false, 0}, {70, true, true, 20}}},
		{"return to stable cancels", 50 * time.Millisecond, []step{
			{0, true, false, 0}, {30, false, false, 0}, {100, false, false, 0}}},
		{"zero window is immediate", 0, []step{
			{0, true, true, 0}, {1, false, true, 1}, {2, false, false, 0}}},
		{"open then close, both counted", 10 * time.Millisecond, []step{
			{0, true, false, 0}, {10, true, true, 0}, {100, false, false, 0}, {115, false, true, 100}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := debouncer{window: c.window}
			for i, s := range c.steps {
				changed, at := d.observe(s.active, ms(s.at))
				if changed != s.changed {
					t.Fatalf("step %d (%dms %v): changed %v, want %v", i, s.at, s.active, changed, s.changed)
				}
				if changed && !at.Equal(ms(s.since)) {
					t.Fatalf("step %d: change dated %v, want %dms", i, at.Sub(t0), s.since)
				}
			}
		})
	}
}
