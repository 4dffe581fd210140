package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 18, item 6: the console's database and key backed up and restored
// to a new place; a restore never overwrites; the retention has a floor.
func TestConsoleBackupAndRestore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dashboard.db")
	run := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := Main(context.Background(), args, strings.NewReader(stdin), &out, &out)
		return out.String(), err
	}
	if out, err := run("a-long-password-1\n", "user", "add", "--db", db, "--role", "admin", "zhao.lei"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	principal, err := run("", "keys", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	out, err := run("", "backup", "--db", db, filepath.Join(dir, "backups"))
	if err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	made, _ := os.ReadDir(filepath.Join(dir, "backups"))
	if len(made) != 1 {
		t.Fatalf("backups: %v", made)
	}
	backup := filepath.Join(dir, "backups", made[0].Name())
	if out, err := run("", "restore", "--db", db, backup); err == nil || !strings.Contains(out+err.Error(), "move the damaged database aside") {
		t.Fatalf("restore over the database: %v\n%s", err, out)
	}
	moved := filepath.Join(dir, "new", "dashboard.db")
	os.MkdirAll(filepath.Dir(moved), 0o700)
	if out, err := run("", "restore", "--db", moved, backup); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if out, err := run("", "user", "list", "--db", moved); err != nil || !strings.Contains(out, "zhao.lei") {
		t.Fatalf("the restored accounts: %v\n%s", err, out)
	}
	keyOf := func(out string) string { _, k, _ := strings.Cut(out, `key: "`); return k }
	if again, err := run("", "keys", "--db", moved); err != nil || strings.Contains(again, "created") || keyOf(again) != keyOf(principal) {
		t.Fatalf("the restored key is not the console's: %v\n%s\n%s", err, again, principal)
	}
	if _, err := run("", "serve", "--db", moved, "--retention-days", "30"); err == nil || !strings.Contains(err.Error(), "180") {
		t.Fatalf("a retention under 180 days: %v", err)
	}
}

// Issue 21, item 4: -h and --help on every command print help and exit 0;
// --version; bad usage exits 2.
func TestDashboardCommandLine(t *testing.T) {
	for _, c := range [][]string{{"serve"}, {"user", "add"}, {"user", "list"}, {"user", "unlock"}, {"user", "bind"}, {"user"},
		{"keys"}, {"backup"}, {"restore"}} {
		for _, help := range []string{"-h", "--help"} {
			var out bytes.Buffer
			err := Main(context.Background(), append(append([]string{}, c...), help), strings.NewReader(""), &out, &out)
			if exitCode(err) != 0 || out.Len() == 0 {
				t.Errorf("%v %s: exit %d (%v)", c, help, exitCode(err), err)
			}
		}
	}
	var out bytes.Buffer
	if err := Main(context.Background(), []string{"--version"}, nil, &out, &out); err != nil || !strings.HasPrefix(out.String(), "roomguard-dashboard ") {
		t.Errorf("--version: %v %q", err, out.String())
	}
	for _, args := range [][]string{{"nothing"}, {"user", "delete"}, {"serve", "--no-such-flag"}, {}} {
		if err := Main(context.Background(), args, strings.NewReader(""), &out, &out); exitCode(err) != 2 {
			t.Errorf("%v: exit %d (%v)", args, exitCode(err), err)
		}
	}
}
