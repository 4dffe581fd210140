package http

import (
	"testing"
	"time"
)

// What the pages say for a length of time: the report's exact duration and
// the short age, in both languages.
func TestDurationWords(t *testing.T) {
	d := func(h, m, s int) time.Duration {
		return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	}
	for _, c := range []struct {
		in           time.Duration
		zhDur, enDur string
		zhAge, enAge string
	}{
		{-time.Second, "0秒", "0s", "-1秒", "-1s"},
		{d(0, 0, 7), "7秒", "7s", "7秒", "7s"},
		{d(0, 1, 26), "1分26秒", "1m26s", "1分26秒", "1m26s"},
		{d(1, 2, 3), "1小时02分03秒", "1h02m03s", "1小时02分", "1h02m"},
		{d(50, 0, 0), "50小时00分00秒", "50h00m00s", "2天", "2 days"},
	} {
		if got := duration("zh", c.in); got != c.zhDur {
			t.Errorf("duration(zh, %v) = %q, want %q", c.in, got, c.zhDur)
		}
		if got := duration("en", c.in); got != c.enDur {
			t.Errorf("duration(en, %v) = %q, want %q", c.in, got, c.enDur)
		}
		if got := age("zh", c.in); got != c.zhAge {
			t.Errorf("age(zh, %v) = %q, want %q", c.in, got, c.zhAge)
		}
		if got := age("en", c.in); got != c.enAge {
			t.Errorf("age(en, %v) = %q, want %q", c.in, got, c.enAge)
		}
	}
}
