package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway/config"
)

// cli runs one command line as a user would and returns what it printed.
func (a *accessRoom) cli(args ...string) (string, error) {
	var out, errs bytes.Buffer
	err := Main(withClock(context.Background(), a.clock), args, &out, &errs)
	return out.String() + errs.String(), err
}

// The command line changes the room only through the running gateway: a
// personnel import with the next version, a visitor registered, listed and
// checked out, each recorded with who gave it; bad input is refused with a
// clear error and changes nothing.
func TestCommandLineThroughTheGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	a := startAccessRoom(t, false, 4)
	dir := t.TempDir()
	cfg := "--config=" + a.cfgPath

	// A bad file is refused here, line by line, before anything is sent.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(personnelCSV(4)+"p-9,错级,0900000001,超级,clerk,*,,,,yes\np-10,重卡,62E3086CED,一般,clerk,*,,,,yes\n"), 0o600)
	out, err := a.cli("personnel", "import", cfg, "--by=p-1", bad)
	if err == nil || !strings.Contains(err.Error(), "line 6") || !strings.Contains(err.Error(), "line 7") {
		t.Fatalf("bad file: %v\n%s", err, out)
	}

	// The next version by default: the room holds version 1.
	good := filepath.Join(dir, "people.csv")
	os.WriteFile(good, []byte(personnelCSV(6)), 0o600)
	out, err = a.cli("personnel", "import", cfg, "--by=p-1", good)
	if err != nil || !strings.Contains(out, "version 2: 6 people") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if out, err := a.cli("personnel", "import", cfg, "--by=p-1", "--version=2", good); err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("the same version again: %v\n%s", err, out)
	}
	if ri, _ := a.d.store.Register(); ri.Version != 2 || ri.Count != 6 || ri.UpdatedBy != "p-1" {
		t.Fatalf("register %+v", ri)
	}

	now := a.clock.Now()
	visitor := []string{"visitor", "register", cfg, "--by=p-1", "--name=刘访", "--id-type=resident-id",
		"--id-number=11010519491231002X", "--organization=某设备厂", "--purpose=保密柜维修", "--host=p-1",
		"--card=ABCDEF0001", "--from=" + now.Format(time.RFC3339), "--until=2h"}
	if out, err := a.cli(append(visitor, "--escort=p-nobody")...); err == nil || !strings.Contains(err.Error(), `escort: no person "p-nobody"`) {
		t.Fatalf("unknown escort: %v\n%s", err, out)
	}
	if out, err := a.cli("visitor", "register", cfg, "--name=刘访"); err == nil || !strings.Contains(err.Error(), "--card, --escort, --host") {
		t.Fatalf("missing fields: %v\n%s", err, out)
	}
	out, err = a.cli(append(visitor, "--escort=p-3")...)
	if err != nil || !strings.Contains(out, "110105********002X") || !strings.Contains(out, "******0001") {
		t.Fatalf("register: %v\n%s", err, out)
	}
	visit := strings.Fields(out)[1]

	out, err = a.cli("visitor", "list", cfg)
	if err != nil || !strings.Contains(out, visit) || !strings.Contains(out, "刘访") || strings.Contains(out, "11010519491231002X") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := a.cli("visitor", "checkout", cfg, "--by=p-3", "--visit=v-nobody"); err == nil || !strings.Contains(err.Error(), "v-nobody") {
		t.Fatalf("unknown visit: %v\n%s", err, out)
	}
	if out, err := a.cli("visitor", "checkout", cfg, "--by=p-3", "--visit="+visit); err != nil || !strings.Contains(out, "checked out") {
		t.Fatalf("checkout: %v\n%s", err, out)
	}
	if out, _ := a.cli("visitor", "list", cfg); strings.Contains(out, visit) {
		t.Fatalf("the closed visit is still listed as open:\n%s", out)
	}
	if out, _ := a.cli("visitor", "list", cfg, "--all"); !strings.Contains(out, "by p-3") {
		t.Fatalf("list --all:\n%s", out)
	}
	seen := 0
	if d := data(a.waitEvent(&seen, "visitor.registered")); d["by"] != "p-1" || d["id_masked"] != "110105********002X" {
		t.Fatalf("registered: %v", d)
	}
	if d := data(a.waitEvent(&seen, "visitor.checked_out")); d["by"] != "p-3" {
		t.Fatalf("checked out: %v", d)
	}

	// Issue 17, item 7: cmd and its subcommands sign with the gateway's own
	// key (keys prints it); a refusal exits 3, anything else 2.
	out, err = a.cli("keys", cfg)
	if err != nil || !strings.HasPrefix(out, "local ") || !strings.Contains(out, ".command.key") ||
		!regexp.MustCompile(`\nroom-fingerprint [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4}\n`).MatchString(out) {
		t.Fatalf("keys: %v\n%s", err, out)
	}
	out, err = a.cli("cmd", cfg, "disarm", `{"by":"p-0"}`)
	if err == nil || exitCode(err) != 3 || !strings.Contains(out, `"status": "error"`) || !strings.Contains(err.Error(), "not armed") {
		t.Fatalf("cmd disarm of an open room: %v\n%s", err, out)
	}
	if out, err := a.cli("arm", cfg, "--by=p-0"); err != nil || !strings.Contains(out, `"status": "ok"`) {
		t.Fatalf("arm: %v\n%s", err, out)
	}
	if out, err := a.cli("disarm", cfg, "--by=p-0"); err != nil || !strings.Contains(out, `"status": "ok"`) {
		t.Fatalf("disarm: %v\n%s", err, out)
	}
	if out, err := a.cli("cmd", cfg, "explode", `{}`); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "not a command") {
		t.Fatalf("cmd explode: %v\n%s", err, out)
	}
	// Without the gateway's key (another log's) the command line cannot sign.
	if out, err := a.cli("arm", cfg, "--db="+filepath.Join(dir, "other.db"), "--by=p-0"); err == nil || !strings.Contains(err.Error(), "signs with the gateway's key") {
		t.Fatalf("arm without the key: %v\n%s", err, out)
	}

	// A room whose gateway is down: said so, not waited for.
	a.d.Stop()
	if out, err := a.cli("visitor", "checkout", cfg, "--by=p-3", "--visit="+visit); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("offline room: %v\n%s", err, out)
	}
}

// A Wiegand reader on two pins of the simulated room: the card 90:324
// (H10301, the example) lets its holder in.
func TestWiegandEntryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	a := startAccessRoom(t, false, 4)
	seen := 0
	if g := a.grantedAt(&seen, "reader-gate", "90:324"); g["person_id"] != "p-1" || g["reader"] != "reader-gate" || g["card"] != "**:324" {
		t.Fatalf("granted %v", g)
	}
}

// Which broker and account the command line uses, from the flags and the
// room's config.
func TestRemoteConn(t *testing.T) {
	dir := t.TempDir()
	pw := func(name, secret string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(secret+"\n"), 0o600)
		return p
	}
	guard, admin := pw("guard.pass", "guard-secret-1234"), pw("admin.pass", "admin-secret-1234")
	load := func(mqttYAML string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte("room: {id: r1, name: 机要室}\nstorage: {path: "+filepath.Join(dir, "log.db")+"}\ninputs: [{id: door-main, kind: door, pin: GPIO17, active: high}]\n"+mqttYAML), "room.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, c := range []struct {
		name, mqtt        string
		flags             []string
		url, user, secret string
		err               string
	}{
		{name: "embedded, no accounts", mqtt: "mqtt: {embedded: {listen: \"127.0.0.1:1884\"}}", url: "tcp://127.0.0.1:1884"},
		{name: "embedded, one account", mqtt: "mqtt: {embedded: {listen: \"0.0.0.0:1883\", users: [{username: guard, password_file: " + guard + "}]}}",
			url: "tcp://127.0.0.1:1883", user: "guard", secret: "guard-secret-1234"},
		{name: "embedded, two accounts", mqtt: "mqtt: {embedded: {listen: \"0.0.0.0:1883\", users: [{username: guard, password_file: " + guard + "}, {username: admin, password_file: " + admin + "}]}}",
			err: "choose one with --user"},
		{name: "embedded, chosen", mqtt: "mqtt: {embedded: {listen: \"0.0.0.0:1883\", users: [{username: guard, password_file: " + guard + "}, {username: admin, password_file: " + admin + "}]}}",
			flags: []string{"--user=admin"}, url: "tcp://127.0.0.1:1883", user: "admin", secret: "admin-secret-1234"},
		{name: "embedded, unknown", mqtt: "mqtt: {embedded: {listen: \"0.0.0.0:1883\", users: [{username: guard, password_file: " + guard + "}]}}",
			flags: []string{"--user=root"}, err: `--user "root": no such account`},
		{name: "embedded, random port", mqtt: "mqtt: {embedded: {listen: \"127.0.0.1:0\"}}", err: "give --broker"},
		{name: "external", mqtt: "mqtt: {url: \"tcp://broker.lan:1883\", username: gw, password_file: " + guard + "}",
			url: "tcp://broker.lan:1883", user: "gw", secret: "guard-secret-1234"},
		{name: "flags", mqtt: "mqtt: {url: \"tcp://broker.lan:1883\", username: gw, password_file: " + guard + "}",
			flags: []string{"--broker=tcp://other:1883", "--user=ops", "--password-file=" + admin}, url: "tcp://other:1883", user: "ops", secret: "admin-secret-1234"},
		{name: "password without user", mqtt: "mqtt: {embedded: {listen: \"127.0.0.1:1884\"}}", flags: []string{"--password-file=" + admin}, err: "needs --user"},
	} {
		fs := newFlags("t", &bytes.Buffer{})
		r := remoteFlags(fs, time.Second)
		if err := fs.Parse(c.flags); err != nil {
			t.Fatal(err)
		}
		conn, err := r.conn(load(c.mqtt))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || conn.URL != c.url || conn.Username != c.user || conn.Password != c.secret {
			t.Errorf("%s: %+v %v, want %s %s %s", c.name, conn, err, c.url, c.user, c.secret)
		}
	}
}
