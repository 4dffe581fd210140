package bridge

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The firmware's decoder, built for this machine, is fed the same vectors
// as this package's.
func TestFirmwareDecoderVectors(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "vectors_test")
	cc := exec.Command("cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-o", bin, "firmware/proto.c", "firmware/vectors_test.c")
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("build the firmware's decoder for the host: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, vectorsFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0 failed") {
		t.Fatalf("the firmware's decoder: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}

// The board's decisions (board.c), built for this machine and checked by
// firmware/board_test.c.
func TestFirmwareBoardDecisions(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "board_test")
	cc := exec.Command("cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-o", bin,
		"firmware/proto.c", "firmware/board.c", "firmware/board_test.c")
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("build the board for the host: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0 failed") {
		t.Fatalf("the board: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}
