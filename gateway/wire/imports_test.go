package wire_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/roomguard/roomguard/"

// graph is the module's packages (without tests) and what each imports,
// read from the source itself (go/build), so the test cache knows when it
// changed.
func graph(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join("..", "..")
	g := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			if _, none := err.(*build.NoGoError); none {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, path)
		g[filepath.ToSlash(rel)] = p.Imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// deps is every package pkg links, inside the module (by path from the
// module's root) and out of it (by import path).
func deps(g map[string][]string, pkg string) map[string]bool {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(p string) {
		for _, imp := range g[p] {
			in, ok := strings.CutPrefix(imp, module)
			if !ok {
				seen[imp] = true
				continue
			}
			if !seen[in] {
				seen[in] = true
				visit(in)
			}
		}
	}
	visit(pkg)
	return seen
}

// TestConsoleLinksNoRoom: the console speaks the rooms' wire contract and
// links none of a room's parts: no broker, no modem, no notifier, no
// serial line, no room engine (issue 29, item 4).
func TestConsoleLinksNoRoom(t *testing.T) {
	d := deps(graph(t), "dashboard/cmd/roomguard-dashboard")
	if !d["gateway/wire"] {
		t.Fatalf("the console does not link gateway/wire: is this the right tree? %v", d)
	}
	for _, banned := range []string{
		"gateway/mqtt", "github.com/mochi-mqtt/server/v2",
		"devices/modem", "devices/serialline", "github.com/tarm/serial",
		"gateway/notify", "gateway/room", "gateway/hardware", "gateway/config",
	} {
		if d[banned] {
			t.Errorf("roomguard-dashboard links %s", banned)
		}
	}
}

// TestAdaptersImportNoAdapter: the gateway's adapters (the broker link,
// the log, the hardware, the call-down) meet in the room's wiring, never
// in each other; the wire contract and the room import no adapter.
func TestAdaptersImportNoAdapter(t *testing.T) {
	g := graph(t)
	adapters := []string{"gateway/mqtt", "gateway/sqlite", "gateway/hardware", "gateway/notify"}
	for _, pkg := range append([]string{"gateway/wire", "gateway/room"}, adapters...) {
		if _, ok := g[pkg]; !ok {
			t.Fatalf("no package %s", pkg)
		}
		for _, imp := range g[pkg] {
			if in := strings.TrimPrefix(imp, module); in != pkg && slices.Contains(adapters, in) {
				t.Errorf("%s imports %s", pkg, in)
			}
		}
	}
}
