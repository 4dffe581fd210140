package systemd

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSystemd is the notify socket of a service manager.
func fakeSystemd(t *testing.T) (string, func() []string) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var mu sync.Mutex
	var got []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, string(buf[:n]))
			mu.Unlock()
		}
	}()
	return path, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

func TestNotifyAndWatchdog(t *testing.T) {
	path, got := fakeSystemd(t)
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", "")
	n := FromEnv()
	if err := n.Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	interval, ok := WatchdogInterval()
	if !ok || interval != 200*time.Millisecond {
		t.Fatalf("watchdog %v %v", interval, ok)
	}

	// An engine that answers is pinged for; once stuck, the pings stop.
	var stuck sync.Mutex
	alive := func() error { stuck.Lock(); defer stuck.Unlock(); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var failures []error
	go n.Watch(ctx, interval, alive, func(err error) { failures = append(failures, err) })
	pings := func() int { return strings.Count(strings.Join(got(), "\n"), "WATCHDOG=1") }
	deadline := time.Now().Add(5 * time.Second)
	for pings() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("pings while alive: %v", got())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stuck.Lock() // the engine deadlocks
	time.Sleep(3 * interval / 2)
	before := pings()
	time.Sleep(4 * interval)
	if after := pings(); after != before {
		t.Fatalf("%d pings while the engine was stuck", after-before)
	}
	stuck.Unlock()
	deadline = time.Now().Add(5 * time.Second)
	for pings() == before {
		if time.Now().After(deadline) {
			t.Fatal("no ping once the engine answered again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got()[0] != "READY=1" {
		t.Fatalf("first message %q", got()[0])
	}
}

func TestNotifyOutsideSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	if n := FromEnv(); n.Enabled() || n.Notify("READY=1") != nil {
		t.Fatal("a notifier outside systemd")
	}
	if _, ok := WatchdogInterval(); ok {
		t.Fatal("a watchdog outside systemd")
	}
	t.Setenv("WATCHDOG_USEC", "1000000")
	t.Setenv("WATCHDOG_PID", "1")
	if _, ok := WatchdogInterval(); ok {
		t.Fatal("another process's watchdog taken")
	}
}
