package serialline_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/devices/badge"
	"github.com/roomguard/roomguard/devices/em4100"
	"github.com/roomguard/roomguard/devices/serialline"
	"github.com/roomguard/roomguard/devices/serialsim"
)

// An EM4100 reader on a pseudo-terminal behind a symlink, as udev names a
// USB adapter: unplugged (the link gone, the line hung up) it is reported
// down; plugged in again it is reopened and read. When the line last
// brought a byte is kept (issue 32: a reader's last-frame age).
func TestReaderUnpluggedAndBack(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ttyUSB0")
	link, err := serialsim.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(link.GatewayPath, path); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var status []bool
	var heard serialline.Heard
	statusCh := make(chan bool, 8)
	cards := make(chan string, 8)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		serialline.Supervise(stop, serialline.Opts{Path: path, Baud: 9600, Retry: 50 * time.Millisecond, Heard: &heard,
			Status: func(up bool, err error) {
				mu.Lock()
				status = append(status, up)
				mu.Unlock()
				statusCh <- up
			}},
			func(port serialline.Port, stop <-chan struct{}, ready func()) error {
				ready()
				var d em4100.Decoder
				return d.Decode(serialline.Reader{Port: port, Stop: stop}, func(c badge.Card) { cards <- c.Number })
			})
	}()
	wait := func(want bool) {
		t.Helper()
		select {
		case up := <-statusCh:
			if up != want {
				t.Fatalf("status %v, want %v", up, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no status change to %v within 10 s", want)
		}
	}
	wait(true)
	if !heard.Last().IsZero() {
		t.Fatalf("heard at %v before a byte came", heard.Last())
	}
	dev, err := os.OpenFile(link.DevicePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	dev.Write(em4100.Frame(0x62E3086CED))
	if c := <-cards; c != "62E3086CED" {
		t.Fatalf("card %s", c)
	}
	if at := heard.Last(); at.Before(before) || at.After(time.Now()) {
		t.Fatalf("heard at %v, the frame was written after %v", at, before)
	}
	// Unplugged.
	dev.Close()
	os.Remove(path)
	link.Close()
	wait(false)
	// Plugged in again.
	link2, err := serialsim.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer link2.Close()
	os.Symlink(link2.GatewayPath, path)
	wait(true)
	dev2, err := os.OpenFile(link2.DevicePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev2.Close()
	dev2.Write(em4100.Frame(0x0100ABCDEF))
	select {
	case c := <-cards:
		if c != "0100ABCDEF" {
			t.Fatalf("card %s", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no card after the reopen")
	}
	close(stop)
	<-done
}

func TestOpenFailsClearly(t *testing.T) {
	_, err := serialline.Open("/dev/roomguard-no-such-port", 9600, 100*time.Millisecond)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

// fakePort is a line that is idle (each read waits out the timeout) until it
// is hung up (each read returns at once with nothing, as the kernel does).
type fakePort struct {
	hung    chan struct{}
	timeout time.Duration
}

func (p *fakePort) Read(b []byte) (int, error) {
	select {
	case <-p.hung:
		return 0, io.EOF
	case <-time.After(p.timeout):
		return 0, io.EOF
	}
}
func (p *fakePort) Write(b []byte) (int, error) { return len(b), nil }
func (p *fakePort) Close() error                { return nil }

// An idle line stays up however long it is idle; a hung-up line, whose
// reads return nothing at once, is reported down.
func TestHangupIsNotIdle(t *testing.T) {
	port := &fakePort{hung: make(chan struct{}), timeout: 20 * time.Millisecond}
	statusCh := make(chan error, 4)
	stop := make(chan struct{})
	done := make(chan struct{})
	reads := make(chan struct{}, 100)
	go func() {
		defer close(done)
		serialline.Supervise(stop, serialline.Opts{Path: "fake", ReadTimeout: port.timeout, Retry: time.Hour,
			Open:   func(string, int, time.Duration) (serialline.Port, error) { return port, nil },
			Sleep:  func(time.Duration) { <-stop },
			Status: func(up bool, err error) { statusCh <- err }},
			func(p serialline.Port, stop <-chan struct{}, ready func()) error {
				ready()
				b := make([]byte, 8)
				for {
					if _, err := p.Read(b); err != nil && err != io.EOF {
						return err
					}
					select {
					case reads <- struct{}{}:
					default:
					}
					select {
					case <-stop:
						return serialline.ErrStopped
					default:
					}
				}
			})
	}()
	if err := <-statusCh; err != nil {
		t.Fatalf("first status %v", err)
	}
	for i := 0; i < 10; i++ { // idle reads, ten of them
		<-reads
	}
	select {
	case err := <-statusCh:
		t.Fatalf("an idle line reported down: %v", err)
	default:
	}
	close(port.hung)
	select {
	case err := <-statusCh:
		if !errors.Is(err, serialline.ErrHangup) {
			t.Fatalf("down with %v, want ErrHangup", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a hung-up line not reported")
	}
	close(stop)
	<-done
}
