// Package emu runs the board's real firmware in the simavr emulator (the
// harness ../simavr/rgsim.c), with its UART on a pseudo-terminal and its pins and
// ADC inputs driven from Go: the tests of the firmware and the gateway's
// side, and the simulated room, use it.
package emu

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	bridge "github.com/roomguard/roomguard/firmware-bridge"
)

// Build builds the firmware and the emulator harness into dir with the
// repository's `make firmware` (one recipe for both), and returns their
// paths.
func Build(dir string) (elf, sim string, err error) {
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	out, err := exec.Command("make", "-s", "-C", root, "firmware", "BIN="+dir).CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("emu: make firmware: %v\n%s", err, out)
	}
	return filepath.Join(dir, "roomguard-board.elf"), filepath.Join(dir, "roomguard-board-sim"), nil
}

// Output is an output pin of the board changing.
type Output struct {
	Port  byte // 'B'
	Bit   int
	Level bool
	// At is the emulator's clock when it changed (from its start).
	At time.Duration
}

// Board is one emulated board.
type Board struct {
	// PTY is the board's UART: open it as a serial port.
	PTY   string
	Clock string // the emulated MCU and its frequency

	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	outs  chan Output
	done  chan struct{}
}

// Start runs the firmware elf in the harness sim.
func Start(elf, sim string, stderr io.Writer) (*Board, error) {
	cmd := exec.Command(sim, elf)
	// Its own process group: a Ctrl-C at the terminal reaches the gateway,
	// which quits the harness in order, not the harness itself (it died of
	// the signal, and the gateway's stop said "not all closed").
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("emu: start %s: %w", sim, err)
	}
	b := &Board{cmd: cmd, stdin: stdin, outs: make(chan Output, 256), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(b.done)
		defer close(b.outs)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w := strings.Fields(sc.Text())
			switch {
			case len(w) == 3 && w[0] == "clock":
				b.Clock = w[1] + " at " + w[2] + " Hz"
			case len(w) == 2 && w[0] == "pty":
				b.PTY = w[1]
				ready <- nil
			case len(w) == 5 && w[0] == "out":
				bit, _ := strconv.Atoi(w[2])
				us, _ := strconv.ParseUint(w[4], 10, 64)
				select {
				case b.outs <- Output{Port: w[1][0], Bit: bit, Level: w[3] != "0", At: time.Duration(us) * time.Microsecond}:
				default: // nobody reads outputs: they are dropped, the board runs on
				}
			}
		}
		ready <- fmt.Errorf("emu: %s ended before its UART was ready", sim)
	}()
	select {
	case err := <-ready:
		if err != nil {
			return nil, errors.Join(err, cmd.Wait())
		}
	case <-time.After(30 * time.Second):
		return nil, errors.Join(fmt.Errorf("emu: %s did not start", sim), b.Close())
	}
	return b, nil
}

// Outputs delivers the output pins' changes; it is closed when the
// emulator ends.
func (b *Board) Outputs() <-chan Output { return b.outs }

func (b *Board) do(format string, args ...any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := fmt.Fprintf(b.stdin, format+"\n", args...)
	return err
}

// ADC sets the voltage on an ADC channel, in millivolts.
func (b *Board) ADC(ch, mv int) error { return b.do("adc %d %d", ch, mv) }

// Pin drives an input pin (port 'B', 'C' or 'D').
func (b *Board) Pin(port byte, bit int, high bool) error {
	v := 0
	if high {
		v = 1
	}
	return b.do("pin %c %d %d", port, bit, v)
}

// Reset resets the MCU as its reset button would.
func (b *Board) Reset() error { return b.do("reset") }

// Power cuts the board's power (the MCU stands still, its UART silent) or
// brings it back (a power-on reset).
func (b *Board) Power(on bool) error {
	if on {
		return b.do("on")
	}
	return b.do("off")
}

// Close stops the emulator.
func (b *Board) Close() error {
	// A harness already gone refuses the quit and the close: its exit
	// status below is what tells.
	errs := []error{b.do("quit"), b.stdin.Close()}
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		errs = append(errs, b.cmd.Process.Kill())
	}
	if err := b.cmd.Wait(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, os.ErrClosed) && !errors.Is(err, syscall.EPIPE) {
			return fmt.Errorf("emu: close: %w", err)
		}
	}
	return nil
}

// The middle of each zone state's band (PROTOCOL.md "Zones"), in millivolts.
var zoneMV = map[bridge.ZoneState]int{bridge.ZoneNormal: 2500, bridge.ZoneAlarm: 3333, bridge.ZoneTamperShort: 200,
	bridge.ZoneTamperCut: 5000, bridge.ZoneFault: 1500}

// Zone puts zone n's line in state s: the voltage of the middle of its band.
func (b *Board) Zone(n int, s bridge.ZoneState) error {
	mv, ok := zoneMV[s]
	if !ok || n < 0 || n > 3 {
		return fmt.Errorf("emu: zone %d state %v: want zones 0–3 and a zone state", n, s)
	}
	return b.ADC(n, mv)
}

// The reference board's lock switches (PROTOCOL.md "Pins"): port D bits,
// each closed to ground (low) when true.
const (
	SwitchBolt  = 0 // bolt thrown
	SwitchDoor  = 1 // door closed
	SwitchCover = 2 // cover closed
)

// Switch sets one of lock n's switches (SwitchBolt, SwitchDoor,
// SwitchCover) closed or open.
func (b *Board) Switch(n, sw int, closed bool) error {
	if n < 0 || n > 1 || sw < 0 || sw > 2 {
		return fmt.Errorf("emu: lock %d switch %d: want locks 0–1 and switches 0–2", n, sw)
	}
	return b.Pin('D', 2+3*n+sw, !closed)
}

// Battery sets lock n's battery-low input.
func (b *Board) Battery(n int, low bool) error {
	if n < 0 || n > 1 {
		return fmt.Errorf("emu: lock %d: want locks 0–1", n)
	}
	return b.Pin('B', 2+n, !low)
}

// Release bits: PB0 and PB1 drive the locks' solenoids.
const ReleaseBit0 = 0
