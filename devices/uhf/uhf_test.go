package uhf_test

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/devices/serialline"
	"github.com/roomguard/roomguard/devices/serialsim"
	"github.com/roomguard/roomguard/devices/uhf"
	"github.com/roomguard/roomguard/devices/uhf/chafon"
	"github.com/roomguard/roomguard/devices/uhf/r200"
	"github.com/roomguard/roomguard/devices/uhf/uhfsim"
)

func TestDedup(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var d uhf.Dedup
	for i, s := range []struct {
		epc     string
		antenna int
		at      time.Duration
		want    bool
	}{
		{"A", 1, 0, true},
		{"A", 1, time.Second, false},    // read again while in the field
		{"A", 2, time.Second, true},     // at another antenna
		{"B", 1, 2 * time.Second, true}, // another tag
		{"A", 1, 5 * time.Second, true}, // a window later: still here, said again
		{"A", 1, 6 * time.Second, false},
	} {
		if got := d.New(uhf.Read{EPC: s.epc, Antenna: s.antenna, At: t0.Add(s.at)}); got != s.want {
			t.Errorf("step %d: %v, want %v", i, got, s.want)
		}
	}
}

func TestCRC16Gen2(t *testing.T) {
	// The R200 manual's tag: PC 3400, EPC 30751FEB705C5904E3D50D70, CRC 3A76.
	b := []byte{0x34, 0x00, 0x30, 0x75, 0x1F, 0xEB, 0x70, 0x5C, 0x59, 0x04, 0xE3, 0xD5, 0x0D, 0x70}
	if got := uhf.CRC16Gen2(b); got != 0x3A76 {
		t.Fatalf("%04X", got)
	}
}

// line is a simulated reader on a pseudo-terminal, read by the gateway side
// through tarm/serial, as on the Pi.
func line(t *testing.T, kind uhfsim.Kind) (*uhfsim.Reader, serialline.Port) {
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
	sim := uhfsim.New(kind, dev)
	go sim.Serve()
	port, err := serialline.Open(l.GatewayPath, 115200, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	return sim, port
}

// Both protocols through a pseudo-terminal: the tags in the field are
// reported once per window each, with their antenna; a reader that stops
// answering ends the driver with ErrSilent.
func TestRunThroughAPseudoTerminal(t *testing.T) {
	for _, c := range []struct {
		name  string
		kind  uhfsim.Kind
		proto uhf.Protocol
		ant   int
	}{
		{"r200", uhfsim.R200, &r200.Reader{}, 1},
		{"chafon288", uhfsim.Chafon288, &chafon.Reader{Addr: 0xFF, Model: chafon.Reader288}, 2},
		{"chafon18", uhfsim.Chafon18, &chafon.Reader{Addr: 0xFF, Model: chafon.Reader18}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			sim, port := line(t, c.kind)
			var tags [][]byte
			for i := 0; i < 45; i++ { // more than one Chafon response holds
				tags = append(tags, []byte{0xE2, 0x80, 0x68, 0x94, 0, 0, 0x50, 0x0A, 0x9D, 0x22, 0x98, byte(i)})
			}
			sim.Field(c.ant, tags...)
			var mu sync.Mutex
			got := map[string]int{}
			ready := make(chan struct{})
			done := make(chan error, 1)
			stop := make(chan struct{})
			go func() {
				done <- uhf.Run(port, c.proto, stop, func() { close(ready) },
					&uhf.Opts{Interval: 20 * time.Millisecond, Window: 200 * time.Millisecond, Silent: 3, Dedup: time.Hour},
					func(r uhf.Read) {
						if r.Antenna != c.ant {
							t.Errorf("antenna %d", r.Antenna)
						}
						mu.Lock()
						got[r.EPC]++
						mu.Unlock()
					})
			}()
			select {
			case <-ready:
			case <-time.After(10 * time.Second):
				t.Fatal("never ready")
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n == len(tags) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d tags seen", n, len(tags))
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond) // more polls: still once each
			mu.Lock()
			for epc, n := range got {
				if n != 1 {
					t.Errorf("%s reported %d times within the window", epc, n)
				}
			}
			mu.Unlock()
			sim.Silence(true)
			select {
			case err := <-done:
				if !errors.Is(err, uhf.ErrSilent) {
					t.Fatalf("ended with %v", err)
				}
			case <-time.After(10 * time.Second):
				close(stop)
				t.Fatal("a silent reader not noticed")
			}
		})
	}
}
