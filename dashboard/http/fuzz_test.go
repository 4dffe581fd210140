package http

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway/clocktest"
)

// FuzzFormInputs: what a browser sends in the entry-log filter and the
// report period (times, the paging cursor) is read without a panic, and a
// time that is accepted is the time that was written.
func FuzzFormInputs(f *testing.F) {
	for _, s := range [][2]string{{"2026-11-22T09:00", "1763773200000/jiyao-301/42"}, {"2026-11-22", "x/y/z"},
		{"2026-11-22T09:00:05", "-1//18446744073709551615"}, {"", "1/a/b/c"}, {"2026-02-30", "9223372036854775808/r/1"}} {
		f.Add(s[0], s[1])
	}
	s := &Server{Clock: clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))}
	zone := time.FixedZone("CST", 8*3600)
	s.Zone = zone
	f.Fuzz(func(t *testing.T, when, before string) {
		if tm, err := formTime(when, zone); err == nil && !tm.IsZero() {
			back := false
			for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
				back = back || tm.Format(layout) == when
			}
			if !back {
				t.Fatalf("%q read as %v", when, tm)
			}
		}
		q := url.Values{"from": {when}, "until": {when}, "before": {before}, "card": {before}, "person": {when}}
		r := &request{Request: httptest.NewRequest("GET", "/entries?"+q.Encode(), nil)}
		if f, err := s.entryFilter(r); err == nil && before != "" && f.Before.IsZero() {
			t.Fatalf("cursor %q accepted as nothing", before)
		}
		if from, until, err := s.period(when, before); err == nil && (!until.After(from) || until.Sub(from) > maxInspection) {
			t.Fatalf("period %q–%q accepted as %v–%v", when, before, from, until)
		}
	})
}
