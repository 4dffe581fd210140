package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// Every example config is good, whether it runs its own broker or joins
// another's (check-config once crashed on the latter).
func TestExampleConfigsCheck(t *testing.T) {
	files, _ := filepath.Glob("../../../examples/*.yaml")
	if len(files) < 2 {
		t.Fatalf("examples: %v", files)
	}
	for _, f := range files {
		var out bytes.Buffer
		if err := Main(t.Context(), []string{"check-config", "--config", f}, &out, io.Discard); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if !strings.Contains(out.String(), "room ") || !strings.Contains(out.String(), "broker") {
			t.Errorf("%s: %q", f, out.String())
		}
	}
}
