// Package systemd speaks the service manager's notify protocol (sd_notify):
// the gateway says when it is ready and stopping, and pings the watchdog
// while its engine and its log answer, so systemd restarts a gateway that
// is stuck rather than merely alive.
package systemd

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier sends states to the socket systemd gave in $NOTIFY_SOCKET.
type Notifier struct {
	addr string // "" when not run by systemd with Type=notify
}

// FromEnv is the notifier of this process (a no-op outside systemd).
func FromEnv() *Notifier { return &Notifier{addr: os.Getenv("NOTIFY_SOCKET")} }

// Enabled tells whether the service manager listens.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != "" }

// Notify sends one state ("READY=1", "STOPPING=1", "WATCHDOG=1",
// "STATUS=…").
func (n *Notifier) Notify(state string) error {
	if !n.Enabled() {
		return nil
	}
	addr := n.addr
	if addr[0] == '@' { // an abstract socket
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("systemd notify: %w", err)
	}
	_, err = c.Write([]byte(state))
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("systemd notify: %w", err)
	}
	return nil
}

// WatchdogInterval is how often systemd wants a WATCHDOG=1 (WatchdogSec in
// the unit, given as $WATCHDOG_USEC for this process); false: no watchdog.
func WatchdogInterval() (time.Duration, bool) {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0, false
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, false // meant for another process
	}
	return time.Duration(usec) * time.Microsecond, true
}

// Watch pings the watchdog every interval/2 for as long as alive answers
// within that time: alive goes through what must work (the engine's locks,
// the log's writer); a stuck one is never answered for, the pings stop and
// systemd restarts the service. It returns when ctx ends.
func (n *Notifier) Watch(ctx context.Context, interval time.Duration, alive func() error, failed func(error)) {
	every := interval / 2
	tick := time.NewTicker(every)
	defer tick.Stop()
	var pending chan error // a probe still running: none started meanwhile
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if pending == nil {
			pending = make(chan error, 1)
			go func(done chan<- error) { done <- alive() }(pending)
		}
		select {
		case err := <-pending:
			pending = nil
			if err != nil {
				failed(err)
				continue
			}
			if err := n.Notify("WATCHDOG=1"); err != nil {
				failed(err)
			}
		case <-time.After(every / 2):
			// not answered in time: no ping; the probe keeps its place
		case <-ctx.Done():
			return
		}
	}
}
