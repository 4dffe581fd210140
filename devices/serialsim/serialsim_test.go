package serialsim_test

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/tarm/serial"

	"github.com/roomguard/roomguard/devices/serialsim"
)

// Bytes written by a simulated device reach the gateway's end, opened through
// tarm/serial as a real port is, unchanged, binary included.
func TestLinkCarriesBinaryBothWays(t *testing.T) {
	l, err := serialsim.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port, err := serial.OpenPort(&serial.Config{Name: l.GatewayPath, Baud: 9600, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	dev, err := os.OpenFile(l.DevicePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()

	// An EM4100 frame: STX, 10 hex digits, 2 of checksum, ETX, plus CR, LF and 0x00.
	frame := []byte("\x02" + "62E3086CED" + "08" + "\x03\r\n\x00\xff")
	if _, err := dev.Write(frame); err != nil {
		t.Fatal(err)
	}
	got := readN(t, port, len(frame))
	if !bytes.Equal(got, frame) {
		t.Fatalf("gateway read %q, want %q", got, frame)
	}
	if _, err := port.Write([]byte{0x55, 0x0d, 0x0a}); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, dev, 3); !bytes.Equal(got, []byte{0x55, 0x0d, 0x0a}) {
		t.Fatalf("device read %q", got)
	}
}

func readN(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	var buf []byte
	deadline := time.Now().Add(5 * time.Second)
	for len(buf) < n && time.Now().Before(deadline) {
		b := make([]byte, n-len(buf))
		k, err := r.Read(b)
		buf = append(buf, b[:k]...)
		if err != nil && err != io.EOF { // tarm/serial: an idle read with a timeout is io.EOF
			t.Fatal(err)
		}
	}
	return buf
}
