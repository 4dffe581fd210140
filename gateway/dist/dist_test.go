// Package dist_test checks what an installer gets (issue 21): the Debian
// packages nfpm builds from gateway/dist and dashboard/dist, their systemd
// units, and the gateway package installed with dpkg and run as its user.
package dist_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomguard/roomguard/firmware-bridge/emu"
	"github.com/roomguard/roomguard/gateway/testenv"
)

func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// pkg builds one package for amd64 with the binary at bin, as make deb does.
func pkg(t *testing.T, name, bin string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Link(bin, filepath.Join(dir, name)); err != nil {
		if err := exec.Command("cp", bin, filepath.Join(dir, name)).Run(); err != nil {
			t.Fatal(err)
		}
	}
	// The manual page, made from the command's usage as make deb makes it.
	page, err := exec.Command(bin, "man").Output()
	if err != nil {
		t.Fatalf("%s man: %v", name, err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(page); err != nil || zw.Close() != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".1.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if name == "roomguard-gateway" { // the board firmware it carries, as make deb builds it
		if _, _, err := emu.Build(dir); err != nil {
			t.Fatal(err)
		}
	}
	conf, err := os.ReadFile(filepath.Join(root(), strings.TrimPrefix(name, "roomguard-"), "dist", "nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "nfpm.yaml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(conf), "${DIST}", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "nfpm", "pkg", "--packager", "deb", "--config", cfg, "--target", dir)
	cmd.Dir = root()
	cmd.Env = append(os.Environ(), "DEB_ARCH=amd64", "DEB_VERSION=0.0.0~test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nfpm: %v\n%s", err, out)
	}
	return filepath.Join(dir, name+"_0.0.0~test_amd64.deb")
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// verifyUnit runs systemd-analyze verify on a unit whose commands are at
// bin: any complaint fails (it exits 0 on an unknown key).
func verifyUnit(t *testing.T, unit string, from, to string) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing")
		}
		t.Skip("systemd-analyze is missing")
	}
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	copy := filepath.Join(t.TempDir(), filepath.Base(unit))
	os.WriteFile(copy, []byte(strings.ReplaceAll(string(b), from, to)), 0o644)
	if out := run(t, "systemd-analyze", "verify", copy); strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify %s:\n%s", unit, out)
	}
}

func TestPackages(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb is missing: not a Debian machine")
	}
	gw, dash := testenv.Gateway(t), testenv.Dashboard(t)
	for _, c := range []struct {
		name, bin string
		files     []string
		conffiles string
		scripts   []string
	}{
		{"roomguard-gateway", gw, []string{"./usr/bin/roomguard-gateway", "./lib/systemd/system/roomguard-gateway.service",
			"./lib/udev/rules.d/60-roomguard.rules", "./etc/roomguard/room.yaml", "./usr/share/doc/roomguard-gateway/examples/mosquitto/mosquitto.conf",
			"./usr/share/doc/roomguard-gateway/examples/mosquitto/roomguard.acl", "./usr/share/doc/roomguard-gateway/operations.md",
			"./usr/share/doc/roomguard-gateway/copyright", "./usr/share/doc/roomguard-gateway/changelog.Debian.gz", "./usr/share/man/man1/roomguard-gateway.1.gz",
			"./usr/share/roomguard/firmware/roomguard-board.hex"},
			"/etc/roomguard/room.yaml", []string{"postinst", "prerm", "postrm"}},
		{"roomguard-dashboard", dash, []string{"./usr/bin/roomguard-dashboard", "./lib/systemd/system/roomguard-dashboard.service",
			"./etc/default/roomguard-dashboard", "./usr/share/doc/roomguard-dashboard/copyright", "./usr/share/doc/roomguard-dashboard/changelog.Debian.gz",
			"./usr/share/man/man1/roomguard-dashboard.1.gz"},
			"/etc/default/roomguard-dashboard", []string{"postinst", "prerm", "postrm"}},
	} {
		deb := pkg(t, c.name, c.bin)
		list := run(t, "dpkg-deb", "-c", deb)
		for _, f := range c.files {
			if !regexp.MustCompile(`\s` + regexp.QuoteMeta(f) + `\n`).MatchString(list) {
				t.Errorf("%s lacks %s:\n%s", c.name, f, list)
			}
		}
		if !strings.Contains(list, "-rwxr-xr-x root/root") {
			t.Errorf("%s: the binary is not executable:\n%s", c.name, list)
		}
		fields := run(t, "dpkg-deb", "-f", deb)
		for _, want := range []string{"Package: " + c.name, "Architecture: amd64", "Depends: libc6 (>= 2.34), adduser"} {
			if !strings.Contains(fields, want) {
				t.Errorf("%s control lacks %q:\n%s", c.name, want, fields)
			}
		}
		if c.name == "roomguard-gateway" {
			x := t.TempDir()
			run(t, "dpkg-deb", "-x", deb, x)
			hex, err := os.ReadFile(filepath.Join(x, "usr/share/roomguard/firmware/roomguard-board.hex"))
			if err != nil {
				t.Fatal(err)
			}
			checkFirmwareHex(t, hex)
		}
		ctl := t.TempDir()
		run(t, "dpkg-deb", "-e", deb, ctl)
		if b, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); strings.TrimSpace(string(b)) != c.conffiles {
			t.Errorf("%s conffiles: %q", c.name, b)
		}
		for _, s := range c.scripts {
			if st, err := os.Stat(filepath.Join(ctl, s)); err != nil || st.Mode().Perm()&0o100 == 0 {
				t.Errorf("%s: maintainer script %s: %v", c.name, s, err)
			}
		}
		verifyUnit(t, filepath.Join(root(), strings.TrimPrefix(c.name, "roomguard-"), "dist", c.name+".service"), "/usr/bin/"+c.name, c.bin)
	}
}

// checkFirmwareHex checks the board firmware the package carries is an
// Intel HEX image avrdude takes: every record's checksum right, an end
// record last, and the program within an ATmega328P's flash beside the
// Arduino bootloader (32 KB less 512 bytes).
func checkFirmwareHex(t *testing.T, hex []byte) {
	t.Helper()
	lines := strings.Fields(string(hex))
	if len(lines) < 2 || lines[len(lines)-1] != ":00000001FF" {
		t.Fatalf("the firmware does not end with the end record: %d lines", len(lines))
	}
	size := 0
	for i, l := range lines {
		b, err := hexBytes(strings.TrimPrefix(l, ":"))
		if !strings.HasPrefix(l, ":") || err != nil || len(b) < 5 || int(b[0])+5 != len(b) {
			t.Fatalf("firmware line %d is no record: %q", i+1, l)
		}
		var sum byte
		for _, x := range b {
			sum += x
		}
		if sum != 0 {
			t.Fatalf("firmware line %d: checksum wrong: %q", i+1, l)
		}
		if b[3] == 0 {
			size += int(b[0])
		}
	}
	if size == 0 || size > 32*1024-512 {
		t.Fatalf("the firmware is %d bytes", size)
	}
}

func hexBytes(s string) ([]byte, error) {
	out := make([]byte, len(s)/2)
	for i := range out {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, err
		}
		out[i] = byte(v)
	}
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("odd length")
	}
	return out, nil
}

// TestInstalledGateway installs the gateway's package on this machine
// with dpkg, as an installer would, and runs the unit's command as its
// user until the simulated room is up; then purges it. Only as root (make
// test runs as root in CI).
func TestInstalledGateway(t *testing.T) {
	u := install(t, "roomguard-gateway", testenv.Gateway(t), "/var/lib/roomguard/test")
	for path, want := range map[string]string{"/etc/roomguard/room.yaml": "-rw-r----- root roomguard", "/var/lib/roomguard": "drwxr-x--- roomguard roomguard"} {
		if got := strings.TrimSpace(run(t, "stat", "-c", "%A %U %G", path)); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	verifyUnit(t, "/lib/systemd/system/roomguard-gateway.service", "", "")
	// The unit's commands, as its user: the config checks, and the room runs
	// (simulated: no pins here) with its log in the state directory.
	check := exec.Command("/usr/bin/roomguard-gateway", "check-config", "/etc/roomguard/room.yaml")
	check.SysProcAttr = &syscall.SysProcAttr{Credential: credential(t, u)}
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), "room jiyao-301") {
		t.Fatalf("check-config as roomguard: %v %s", err, out)
	}
	port := testenv.FreePort(t)
	cmd := exec.Command("/usr/bin/roomguard-gateway", "run", "--sim", "--config", "/etc/roomguard/room.yaml",
		"--db", "/var/lib/roomguard/test/room.db", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--http", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: credential(t, u)}
	out := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	defer stop()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "gateway started") {
		if time.Now().After(deadline) {
			t.Fatalf("the installed gateway did not start as %s:\n%s", u.Username, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if got := strings.TrimSpace(run(t, "stat", "-c", "%U %a", "/var/lib/roomguard/test/room.db")); got != "roomguard 640" {
		t.Errorf("the log: %s, want roomguard's, 0640", got)
	}
}

// credential runs a process as u, with its groups, as systemd's User= does.
func credential(t *testing.T, u *user.User) *syscall.Credential {
	t.Helper()
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	c := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	groups, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		n, _ := strconv.Atoi(g)
		c.Groups = append(c.Groups, uint32(n))
	}
	return c
}

// TestInstalledDashboard installs the console's package with dpkg, as an
// installer would, and runs the unit's command as its user until it
// answers /healthz; then purges it (issue 32, item 7). Only as root.
func TestInstalledDashboard(t *testing.T) {
	u := install(t, "roomguard-dashboard", testenv.Dashboard(t), "/var/lib/roomguard-dashboard/test")
	if got := strings.TrimSpace(run(t, "stat", "-c", "%A %U %G", "/var/lib/roomguard-dashboard")); got != "drwxr-x--- roomguard roomguard" {
		t.Errorf("/var/lib/roomguard-dashboard: %s", got)
	}
	if out, err := exec.Command("man", "-w", "roomguard-dashboard").CombinedOutput(); err == nil && !strings.Contains(string(out), "roomguard-dashboard.1") {
		t.Errorf("man -w roomguard-dashboard: %s", out)
	}
	if err := os.MkdirAll("/var/lib/roomguard-dashboard/test", 0o750); err != nil {
		t.Fatal(err)
	}
	run(t, "chown", "roomguard:roomguard", "/var/lib/roomguard-dashboard/test")
	port := testenv.FreePort(t)
	cmd := exec.Command("/usr/bin/roomguard-dashboard", "serve", "--db", "/var/lib/roomguard-dashboard/test/dashboard.db",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--broker", fmt.Sprintf("tcp://127.0.0.1:%d", testenv.FreePort(t)), "--metrics-listen", "off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: credential(t, u)}
	out := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the installed console did not answer as %s:\n%s", u.Username, out.String())
		}
	}
}

// install installs package name (bin inside) with dpkg, as an installer
// would, and purges it when the test ends (the roomguard user too once no
// package of ours is left, and the test's data directory); it returns the
// user the package made. Only as root, on a Debian machine, and never over
// a real installation.
func install(t *testing.T, name, bin, testData string) *user.User {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs as root: the package is installed for real")
		}
		t.Skip("installing a package needs root")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("not a Debian machine")
	}
	if out, err := exec.Command("dpkg", "-s", name).CombinedOutput(); err == nil && !strings.Contains(string(out), "0.0.0~test") {
		t.Skipf("a real %s is installed here: not replaced by a test", name)
	}
	deb := pkg(t, name, bin)
	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "--purge", name).CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge: %v\n%s", err, out)
		}
		if exec.Command("dpkg", "-s", "roomguard-gateway").Run() != nil && exec.Command("dpkg", "-s", "roomguard-dashboard").Run() != nil {
			exec.Command("deluser", "--quiet", "roomguard").Run()
		}
		os.RemoveAll(testData)
	})
	run(t, "dpkg", "-i", deb)
	u, err := user.Lookup("roomguard")
	if err != nil {
		t.Fatalf("the package made no roomguard user: %v", err)
	}
	return u
}
