package sqlite

import (
	"fmt"
	"testing"

	"github.com/roomguard/roomguard/gateway"
)

// The tail answers only what it holds without a gap, and says so; a gap (a
// restore) starts it over; it stays bounded.
func TestTail(t *testing.T) {
	var tl tail
	if _, ok := tl.from(0, 10); ok {
		t.Fatal("an empty tail answered")
	}
	recs := func(from, to uint64) []gateway.LogRecord {
		var out []gateway.LogRecord
		for q := from; q <= to; q++ {
			out = append(out, gateway.LogRecord{Seq: q, Payload: []byte(fmt.Sprint(q))})
		}
		return out
	}
	tl.add(recs(5, 9))
	tl.add(recs(10, 12))
	for _, c := range []struct {
		after uint64
		limit int
		want  string
		ok    bool
	}{{3, 10, "", false}, {4, 10, "5-12", true}, {6, 2, "7-8", true}, {12, 10, "", true}, {20, 10, "", true}} {
		got, ok := tl.from(c.after, c.limit)
		s := ""
		if len(got) > 0 {
			s = fmt.Sprintf("%d-%d", got[0].Seq, got[len(got)-1].Seq)
		}
		if ok != c.ok || s != c.want {
			t.Errorf("from(%d, %d) = %s %v, want %s %v", c.after, c.limit, s, ok, c.want, c.ok)
		}
	}
	tl.add(recs(20010, 20011)) // a restore went on after a gap
	if _, ok := tl.from(12, 10); ok {
		t.Fatal("the tail answered across a gap")
	}
	if got, ok := tl.from(20009, 10); !ok || len(got) != 2 {
		t.Fatalf("after the gap: %v %v", got, ok)
	}
	for q := uint64(20012); q < 20012+3*tailMax; q += 100 {
		tl.add(recs(q, q+99))
	}
	if n := len(tl.recs); n > 2*tailMax || n < tailMax {
		t.Fatalf("the tail holds %d records", n)
	}
}
