package modem_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/devices/modem"
	"github.com/roomguard/roomguard/devices/modem/modemsim"
	"github.com/roomguard/roomguard/devices/serialline"
	"github.com/roomguard/roomguard/devices/serialsim"
)

// rig is the real driver on a supervised line (tarm/serial on a
// pseudo-terminal) talking to the simulated modem.
type rig struct {
	m   *modem.Modem
	sim *modemsim.Modem
	mu  sync.Mutex
	up  []bool
	err []error
}

func newRig(t *testing.T) *rig {
	t.Helper()
	l, err := serialsim.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	dev, err := os.OpenFile(l.DevicePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	r := &rig{m: modem.New(), sim: modemsim.New(dev)}
	r.m.CheckEvery = 100 * time.Millisecond
	go r.sim.Serve()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		serialline.Supervise(stop, serialline.Opts{Path: l.GatewayPath, Baud: 115200, Retry: 50 * time.Millisecond,
			Status: func(up bool, err error) {
				r.mu.Lock()
				r.up, r.err = append(r.up, up), append(r.err, err)
				r.mu.Unlock()
			}}, r.m.Driver)
	}()
	t.Cleanup(func() { close(stop); <-done })
	r.wait(t, "the modem up", func() bool { return len(r.up) > 0 && r.up[len(r.up)-1] })
	return r
}

func (r *rig) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (states %v %v)", what, r.up, r.err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Issue 20: an alarm's SMS reaches two numbers in UCS-2 (Chinese), with the
// room, the alarm and the time; a long one goes in parts; ASCII goes as text.
func TestSMS(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	text := "【机要室 301】P1 报警：入侵（保密柜区红外），11-27 03:12:40。请立即处置。"
	for _, to := range []string{"+8613800000001", "13900000002"} {
		if err := r.m.SMS(ctx, to, text); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.m.SMS(ctx, "10086", "roomguard jiyao-301: door-forced on door-main"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("保密柜A门未关。", 12) // 96 characters: two messages
	if err := r.m.SMS(ctx, "13900000002", long); err != nil {
		t.Fatal(err)
	}
	sent := r.sim.Sent()
	if len(sent) != 5 || sent[0].To != "+8613800000001" || sent[0].Text != text || sent[1].To != "13900000002" ||
		sent[2].Text != "roomguard jiyao-301: door-forced on door-main" {
		t.Fatalf("sent %+v", sent)
	}
	if !strings.HasPrefix(sent[3].Text, "(1/2) ") || !strings.HasPrefix(sent[4].Text, "(2/2) ") ||
		strings.TrimPrefix(sent[3].Text, "(1/2) ")+strings.TrimPrefix(sent[4].Text, "(2/2) ") != long {
		t.Fatalf("the long SMS: %q %q", sent[3].Text, sent[4].Text)
	}
	if err := r.m.Call(ctx, "+8613800000001", 50*time.Millisecond); err != nil || len(r.sim.Calls()) != 1 {
		t.Fatalf("call: %v %v", err, r.sim.Calls())
	}
	for _, bad := range []string{"", "12a4", "1+2", strings.Repeat("1", 21)} {
		if err := r.m.SMS(ctx, bad, "x"); err == nil {
			t.Errorf("SMS to %q was tried", bad)
		}
	}
}

// A refused SMS is an error for that message, not a fault of the modem; a
// modem that stops answering or loses its network is a device fault, and
// comes back when it answers again.
func TestModemFaults(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r.sim.Refuse(true)
	if err := r.m.SMS(ctx, "13900000002", "test"); err == nil || !strings.Contains(err.Error(), "+CMS ERROR: 500") {
		t.Fatalf("a refused SMS: %v", err)
	}
	r.sim.Refuse(false)
	if err := r.m.SMS(ctx, "13900000002", "test"); err != nil {
		t.Fatal(err)
	}
	downs := func() int {
		n := 0
		for _, up := range r.up {
			if !up {
				n++
			}
		}
		return n
	}
	r.sim.Silence(true)
	if err := r.m.SMS(ctx, "13900000002", "test"); err == nil {
		t.Fatal("an SMS through a silent modem")
	}
	r.wait(t, "a fault for the silent modem", func() bool { return downs() == 1 })
	r.mu.Lock()
	if last := r.err[len(r.err)-1]; last == nil || !strings.Contains(last.Error(), "no answer") {
		t.Fatalf("the fault says %v", last)
	}
	r.mu.Unlock()
	r.sim.Silence(false)
	r.wait(t, "the modem back", func() bool { return r.up[len(r.up)-1] })
	r.sim.Unregister(true) // no SIM, no coverage: found at the next check
	r.wait(t, "a fault for the lost network", func() bool { return downs() == 2 })
	r.mu.Lock()
	if last := r.err[len(r.err)-1]; last == nil || !strings.Contains(last.Error(), "not registered") {
		t.Fatalf("the fault says %v", last)
	}
	r.mu.Unlock()
	r.sim.Unregister(false)
	r.wait(t, "the modem back on its network", func() bool { return r.up[len(r.up)-1] })
	if err := r.m.SMS(ctx, "13900000002", "back"); err != nil {
		t.Fatal(err)
	}
}

// Issue 28, item 2: an SMS goes ahead of a call the modem has not started:
// while one alarm's call rings, another's call and then its SMS wait; the
// SMS goes first.
func TestSMSGoesAheadOfCallsNotStarted(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan string, 3)
	go func() { r.m.Call(ctx, "13800000001", 400*time.Millisecond); done <- "first call" }()
	for len(r.sim.Calls()) == 0 {
		time.Sleep(5 * time.Millisecond) // ringing
	}
	go func() { r.m.Call(ctx, "13800000002", 400*time.Millisecond); done <- "second call" }()
	time.Sleep(50 * time.Millisecond) // the second call waits first
	go func() { r.m.SMS(ctx, "13800000002", "【机要室 301】P1 报警"); done <- "sms" }()
	var order []string
	for range 3 {
		order = append(order, <-done)
	}
	if strings.Join(order, ", ") != "first call, sms, second call" {
		t.Fatalf("served in the order %v", order)
	}
}
