package badge

import (
	"testing"
	"time"
)

func TestPresence(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var p Presence
	steps := []struct {
		card string
		at   time.Duration
		want bool
	}{
		{"A", 0, true},
		{"A", 100 * time.Millisecond, false}, // repeated while held
		{"A", 900 * time.Millisecond, false}, // still held: the hold counts from the last read
		{"B", time.Second, true},             // another card
		{"A", 1100 * time.Millisecond, true}, // A again after B
		{"A", 3 * time.Second, true},         // shown again after a pause
	}
	for i, s := range steps {
		if got := p.New(s.card, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d: %s at %v: new = %v, want %v", i, s.card, s.at, got, s.want)
		}
	}
}
