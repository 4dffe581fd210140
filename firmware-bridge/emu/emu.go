// Package emu runs the board's real firmware in the simavr emulator (the
// harness ../simavr/rgsim.c), with its UART on a pseudo-terminal and its pins and
// ADC inputs driven from Go: the tests of the firmware and the gateway's
// side, and the simulated room, use it.
package emu

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
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
			cmd.Wait()
			return nil, err
		}
	case <-time.After(30 * time.Second):
		b.Close()
		return nil, fmt.Errorf("emu: %s did not start", sim)
	}
	return b, nil
}

// Outputs delivers the output pins' changes.
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

// Close stops the emulator.
func (b *Board) Close() error {
	b.do("quit")
	b.stdin.Close()
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		b.cmd.Process.Kill()
	}
	return b.cmd.Wait()
}
