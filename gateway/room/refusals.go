package room

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// A refused command is cheap to send and costs the room a log entry: an
// account that may publish on cmd/# (every console's, with the shipped
// ACL), or a buggy integration, can send thousands a second. Logged one by
// one they grew the log by 150 MB a minute and kept the publisher from the
// room's real events (issue 27, finding 1). So refusals are logged in full
// only within a budget and counted past it: the first RefusalsLogged of
// each principal within RefusalWindow, at most RefusalsLoggedAll in all,
// then one auth.refused summary at the end of the window with the counts by
// code, principal and command. Every refusal counts toward the
// command-forgery alarm, logged or not.
const (
	RefusalWindow     = time.Minute
	RefusalsLogged    = 5
	RefusalsLoggedAll = 30
	// refusalNames bounds the principals told apart in a summary: a
	// principal is only what an envelope claims, so a flood can name a
	// new one every time.
	refusalNames = 16
)

// refusals is the budget of the refusals logged in full, and the count of
// those that were not, for the window running now.
type refusals struct {
	mu         sync.Mutex
	start      time.Time      // the window's start; zero: none running
	logged     map[string]int // principal → refusals logged in full in this window
	loggedAll  int
	counted    int // refusals not logged in full in this window
	codes      map[string]int
	principals map[string]int
	cmds       map[string]int
	burst      []time.Time // the last refusals' times, toward command-forgery
	forged     bool        // a burst among the refusals counted, not yet raised
	stop       func() bool // the summary's timer
}

// take decides for one refusal at now: logged in full (full), and whether
// it completes a burst that raises command-forgery (forgery).
func (r *refusals) take(now time.Time, principal, cmd, code string) (full, forgery bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start.IsZero() || now.Sub(r.start) >= RefusalWindow {
		if r.counted == 0 {
			r.start, r.logged, r.loggedAll = now, map[string]int{}, 0
		}
		// else the summary of the window that ended is due: its timer
		// writes it and opens the next window; until then, count.
	}
	kept := r.burst[:0]
	for _, at := range r.burst {
		if now.Sub(at) < ForgeryWindow {
			kept = append(kept, at)
		}
	}
	r.burst = append(kept, now)
	if len(r.burst) >= ForgeryBurst {
		r.burst, forgery = r.burst[:0], true
	}
	if r.logged[principal] < RefusalsLogged && r.loggedAll < RefusalsLoggedAll {
		r.logged[principal]++
		r.loggedAll++
		return true, forgery
	}
	if r.counted == 0 {
		r.codes, r.principals, r.cmds = map[string]int{}, map[string]int{}, map[string]int{}
	}
	r.counted++
	r.codes[code]++
	r.cmds[cmd]++
	if _, known := r.principals[principal]; known || len(r.principals) < refusalNames {
		r.principals[principal]++
	} else {
		r.principals["(others)"]++
	}
	r.forged = r.forged || forgery
	return false, false
}

// summary returns the counts of the window that ended and opens the next.
func (r *refusals) summary(now time.Time) (since time.Time, n int, codes, principals, cmds map[string]int, forged bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	since, n, codes, principals, cmds, forged = r.start, r.counted, r.codes, r.principals, r.cmds, r.forged
	r.start, r.logged, r.loggedAll, r.counted, r.forged, r.stop = now, map[string]int{}, 0, 0, false, nil
	r.codes, r.principals, r.cmds = nil, nil, nil
	return
}

// halt stops the summary's timer.
func (r *refusals) halt() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		r.stop()
		r.stop = nil
	}
}

// Refused records a command the room did not carry out because it did not
// believe it (unauthenticated, forbidden, stale, replayed), its person may
// not give it (unknown_person, not_allowed, same_person), or its intake was
// full (busy): an auth.refused event within the budget, counted past it
// (refusals). The fifth within a minute raises a command-forgery alarm,
// which needs only an acknowledgement to close (the refusals are over when
// it is seen).
func (r *Room) Refused(principal, cmd, code, detail string) error {
	p := r.Panel
	b := &p.refused
	full, forgery := b.take(p.clock.Now(), principal, cmd, code)
	if !full {
		b.mu.Lock()
		if b.stop == nil && !p.stopped.Load() {
			b.stop = p.clock.AfterFunc(RefusalWindow-p.clock.Now().Sub(b.start), p.refusalSummary)
		}
		b.mu.Unlock()
		return nil
	}
	return p.do(func(c *change) error {
		data := map[string]any{"cmd": cmd, "code": code, "detail": detail}
		if principal != "" {
			data["principal"] = principal
		}
		c.event("auth.refused", gateway.SeverityWarning, "", "", data)
		if forgery {
			p.raise(c, gateway.AlarmForgery, "", fmt.Sprintf("%d commands refused within %s, the last %s: %s", ForgeryBurst, ForgeryWindow, code, detail), false)
		}
		return nil
	})
}

// refusalSummary logs the refusals of the window that ended that were not
// logged one by one: one auth.refused with their counts.
func (p *Panel) refusalSummary() {
	since, n, codes, principals, cmds, forged := p.refused.summary(p.clock.Now())
	if n == 0 {
		return
	}
	err := p.do(func(c *change) error {
		detail := fmt.Sprintf("%d more commands refused since %s, not logged one by one: %s; from %s; commands %s",
			n, since.Format(gateway.TimeFormat), counts(codes), counts(principals), counts(cmds))
		c.event("auth.refused", gateway.SeverityWarning, "", "", map[string]any{"cmd": most(cmds), "code": most(codes), "detail": detail,
			"count": n, "since": since.Format(gateway.TimeFormat), "codes": codes, "principals": principals, "cmds": cmds})
		if forged {
			p.raise(c, gateway.AlarmForgery, "", detail, false)
		}
		return nil
	})
	if err != nil {
		p.logger().Error("the refused commands' summary not logged", "count", n, "err", err)
	}
}

// counts says a count map in a stable order, largest first.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := k
		if name == "" {
			name = "(none)"
		}
		parts[i] = fmt.Sprintf("%s %d", name, m[k])
	}
	return strings.Join(parts, ", ")
}

// most is the key of m with the largest count.
func most(m map[string]int) string {
	best, n := "", -1
	for k, v := range m {
		if v > n || (v == n && k < best) {
			best, n = k, v
		}
	}
	return best
}

// RepeatsLogged is how many alarm.repeated an alarm logs within
// RefusalWindow: a condition that comes back thousands of times (a flood of
// refused commands, a contact chattering) counts on its alarm (its count)
// and logs a repeat again in the next window, saying how many were not
// logged (not_logged).
const RepeatsLogged = 3

// repeats is each open alarm's alarm.repeated budget. Guarded by the
// panel's mu.
type repeats map[string]*repeatWindow

type repeatWindow struct {
	start   time.Time
	logged  int
	skipped int
}

// take decides whether the repeat of alarm at now is logged, and how many
// were not since the last that was. open are the alarms still open: the
// budgets of the others are dropped.
func (r *repeats) take(alarm string, now time.Time, open []*gateway.Alarm) (skipped int, log bool) {
	if *r == nil {
		*r = repeats{}
	}
	w := (*r)[alarm]
	if w == nil {
		if len(*r) >= 64 {
			for id := range *r {
				if !slicesContainsAlarm(open, id) {
					delete(*r, id)
				}
			}
		}
		w = &repeatWindow{start: now}
		(*r)[alarm] = w
	}
	if now.Sub(w.start) >= RefusalWindow {
		w.start, w.logged = now, 0
	}
	if w.logged >= RepeatsLogged {
		w.skipped++
		return 0, false
	}
	w.logged++
	skipped, w.skipped = w.skipped, 0
	return skipped, true
}

func slicesContainsAlarm(alarms []*gateway.Alarm, id string) bool {
	for _, a := range alarms {
		if a.ID == id {
			return true
		}
	}
	return false
}
