// Package serialsim stands in for a serial device with two linked
// pseudo-terminals, as `socat pty pty` would: the gateway opens GatewayPath
// exactly as it opens /dev/ttyUSB0 on a real Pi (through tarm/serial, the real
// code path), and a simulator writes the device's bytes to DevicePath. Bytes
// are copied both ways unchanged: both ends are in raw mode.
package serialsim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Link is one simulated serial line.
type Link struct {
	GatewayPath string
	DevicePath  string

	gwMaster, gwSlave   *os.File
	devMaster, devSlave *os.File
	wg                  sync.WaitGroup
	once                sync.Once

	pumpMu   sync.Mutex
	pumpErrs []error // what ended a pump other than Close
}

// Open creates a linked pair of pseudo-terminals.
func Open() (*Link, error) {
	l := &Link{}
	var err error
	if l.gwMaster, l.gwSlave, err = pty.Open(); err != nil {
		return nil, fmt.Errorf("serialsim: open pty: %w", err)
	}
	if l.devMaster, l.devSlave, err = pty.Open(); err != nil {
		return nil, errors.Join(fmt.Errorf("serialsim: open pty: %w", err), l.gwMaster.Close(), l.gwSlave.Close())
	}
	// We keep both slaves open: the line survives either side closing and
	// reopening it, as a real serial port does.
	for _, f := range []*os.File{l.gwSlave, l.devSlave} {
		if err := makeRaw(f); err != nil {
			return nil, errors.Join(fmt.Errorf("serialsim: raw mode on %s: %w", f.Name(), err), l.Close())
		}
	}
	// Pollable masters: Close then interrupts the pumps' reads, really closes
	// the masters, and the line hangs up (a read on the gateway's side gets
	// EIO), as when a USB adapter is pulled out.
	var err1, err2 error
	l.gwMaster, err1 = pollable(l.gwMaster)
	l.devMaster, err2 = pollable(l.devMaster)
	if err := errors.Join(err1, err2); err != nil {
		return nil, errors.Join(fmt.Errorf("serialsim: %w", err), l.Close())
	}
	l.GatewayPath, l.DevicePath = l.gwSlave.Name(), l.devSlave.Name()
	l.wg.Add(2)
	go l.pump(l.gwMaster, l.devMaster)
	go l.pump(l.devMaster, l.gwMaster)
	return l, nil
}

// pump copies one way until Close closes the masters, which ends it with a
// closed file or a hung-up line; any other error is kept for Close.
func (l *Link) pump(dst, src *os.File) {
	defer l.wg.Done()
	if _, err := io.Copy(dst, src); err != nil && !errors.Is(err, os.ErrClosed) && !errors.Is(err, syscall.EIO) {
		l.pumpMu.Lock()
		l.pumpErrs = append(l.pumpErrs, err)
		l.pumpMu.Unlock()
	}
}

func pollable(f *os.File) (*os.File, error) {
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return f, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return f, errors.Join(err, unix.Close(fd))
	}
	nf := os.NewFile(uintptr(fd), f.Name())
	if err := f.Close(); err != nil {
		return nf, errors.Join(err, nf.Close())
	}
	return nf, nil
}

// makeRaw puts a terminal in raw mode (cfmakeraw): no echo, no line editing,
// no CR/LF translation, 8 bits through.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// Close tears the line down.
func (l *Link) Close() error {
	var errs []error
	l.once.Do(func() {
		for _, f := range []*os.File{l.gwMaster, l.devMaster, l.gwSlave, l.devSlave} {
			if f != nil {
				errs = append(errs, f.Close())
			}
		}
		l.wg.Wait()
		l.pumpMu.Lock()
		errs = append(errs, l.pumpErrs...)
		l.pumpMu.Unlock()
	})
	return errors.Join(errs...)
}
