package http

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/roomguard/roomguard/dashboard"
)

// Logins are bounded (issue 19: 32 logins at once took the console from
// 0.1 to 2.1 GB): an address gets LoginsPerMinute attempts a minute, and at
// most MaxPasswordChecks argon2id checks run at once.

// errBusy is a password check that waited PasswordWait for its turn.
var errBusy = errors.New("too many logins at once")

// allowLogin counts an attempt of the address of r, and reports whether it
// is within the address's minute.
func (s *Server) allowLogin(r *http.Request) bool {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	now := s.Clock.Now()
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	recent := s.attempts[addr][:0]
	for _, at := range s.attempts[addr] {
		if now.Sub(at) < time.Minute {
			recent = append(recent, at)
		}
	}
	if len(recent) >= s.LoginsPerMinute {
		s.attempts[addr] = recent
		return false
	}
	s.attempts[addr] = append(recent, now)
	if len(s.attempts) > 10000 { // a flood of addresses: forget those done with their minute
		for a, ts := range s.attempts {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= time.Minute {
				delete(s.attempts, a)
			}
		}
	}
	return true
}

// checkPassword checks password against hash in one of the bounded slots,
// waiting at most PasswordWait for one.
func (s *Server) checkPassword(hash, password string) (bool, error) {
	s.initChecks.Do(func() { s.checks = make(chan struct{}, s.MaxPasswordChecks) })
	select {
	case s.checks <- struct{}{}:
	case <-time.After(s.PasswordWait):
		return false, errBusy
	}
	defer func() { <-s.checks }()
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	return dashboard.PasswordMatches(hash, password), nil
}

// PeakPasswordChecks is the most password checks that ran at once.
func (s *Server) PeakPasswordChecks() int64 { return s.peak.Load() }

// remoteAddr is the address a request came from.
func remoteAddr(r *http.Request) string {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return addr
}
