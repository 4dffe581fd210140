// Package testenv starts the real things integration tests and benchmarks
// need: a Mosquitto broker on a free loopback port, and the gateway binary.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// Mosquitto is a broker process owned by a test.
type Mosquitto struct {
	Port int
	Dir  string
	cmd  *exec.Cmd
	out  bytes.Buffer
	t    testing.TB
}

// StartMosquitto starts Mosquitto on a free loopback port with persistence
// in a temp dir (so a restart keeps sessions and queued messages, like a
// production broker), and stops it when the test ends.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	return StartMosquittoWith(t, "autosave_interval 0\n")
}

// StartMosquittoACL starts Mosquitto with the shipped ACL
// (examples/mosquitto/roomguard.acl, at acl) and one account for each of
// users, its password "a long secret <user>" (AccountPassword), each its own
// client id.
func StartMosquittoACL(t testing.TB, acl string, users ...string) *Mosquitto {
	t.Helper()
	return StartMosquittoWith(t, fmt.Sprintf("password_file %s\nacl_file %s\nuse_username_as_clientid true\n", MosquittoPasswd(t, users...), acl))
}

// MosquittoPasswd writes a Mosquitto password file with an account for each
// of users (AccountPassword) and returns its path.
func MosquittoPasswd(t testing.TB, users ...string) string {
	t.Helper()
	needMosquitto(t)
	pw := filepath.Join(t.TempDir(), "passwd")
	for i, u := range users {
		args := []string{"-b", pw, u, AccountPassword(u)}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command("mosquitto_passwd", args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
	}
	return pw
}

// ConnectAs connects to m as user, an account of StartMosquittoACL (its
// client id the account's name), until the test ends.
func (m *Mosquitto) ConnectAs(t testing.TB, user string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(m.URL()).SetClientID(user).SetUsername(user).SetPassword(AccountPassword(user)))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: %v", user, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

// AccountPassword is the password StartMosquittoACL gives user.
func AccountPassword(user string) string { return "a long secret " + user }

// StartMosquittoWith starts Mosquitto like StartMosquitto, its persistence
// settings given by conf (autosave_interval 0: saved only at a clean stop).
func StartMosquittoWith(t testing.TB, conf string) *Mosquitto {
	t.Helper()
	needMosquitto(t)
	m := &Mosquitto{Port: FreePort(t), Dir: t.TempDir(), t: t}
	config := fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
persistence true
persistence_location %s/
%smax_queued_messages 0
max_inflight_messages 0
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
%s`, m.Port, m.Dir, conf, runAs())
	if err := os.WriteFile(filepath.Join(m.Dir, "mosquitto.conf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// needMosquitto skips the test where Mosquitto is not installed, and fails
// it in CI, where make test has installed it.
func needMosquitto(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("mosquitto"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mosquitto is not installed (make test installs it)")
		}
		t.Skip("mosquitto is not installed; run make test, which installs it")
	}
}

// StartMosquittoConf starts Mosquitto with a whole configuration of the
// test's: conf is given the free port and the broker's directory (for its
// persistence) and returns the file's text.
func StartMosquittoConf(t testing.TB, conf func(port int, dir string) string) *Mosquitto {
	t.Helper()
	needMosquitto(t)
	m := &Mosquitto{Port: FreePort(t), Dir: t.TempDir(), t: t}
	if err := os.WriteFile(filepath.Join(m.Dir, "mosquitto.conf"), []byte(conf(m.Port, m.Dir)+"\n"+runAs()), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// runAs keeps Mosquitto as the user the tests run as: started as root it
// otherwise switches to the "mosquitto" user, which cannot write the test's
// temp dir, and then silently loses its persistence file at shutdown.
func runAs() string {
	if os.Geteuid() == 0 {
		return "user root\n"
	}
	return ""
}

// Output is what the broker printed so far (its log; read it after Stop or
// Crash, or while it is quiet).
func (m *Mosquitto) Output() string { return m.out.String() }

// URL is the broker's tcp:// URL.
func (m *Mosquitto) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", m.Port) }

// Start (re)starts the broker on its port and waits until it accepts.
func (m *Mosquitto) Start() {
	m.t.Helper()
	m.cmd = exec.Command("mosquitto", "-c", filepath.Join(m.Dir, "mosquitto.conf"))
	m.cmd.Stdout, m.cmd.Stderr = &m.out, &m.out
	if err := m.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	WaitPort(m.t, m.Port)
}

// Stop stops the broker cleanly (SIGTERM: it saves its persistence file).
func (m *Mosquitto) Stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		m.t.Errorf("stop mosquitto: %v", err)
	}
	if err := m.cmd.Wait(); err != nil {
		m.t.Errorf("mosquitto: %v\n%s", err, m.out.String())
	}
	m.cmd = nil
}

// Crash kills the broker with SIGKILL: it saves nothing on the way out.
func (m *Mosquitto) Crash() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	if err := m.cmd.Process.Kill(); err != nil {
		m.t.Errorf("kill mosquitto: %v", err)
	}
	if err := m.cmd.Wait(); err != nil && !killed(err) {
		m.t.Errorf("mosquitto: %v", err)
	}
	m.cmd = nil
}

// WipePersistence deletes the broker's saved state (retained messages,
// sessions), as a broker replaced by a new one would have none. Call it while
// the broker is stopped.
func (m *Mosquitto) WipePersistence() {
	if err := os.Remove(filepath.Join(m.Dir, "mosquitto.db")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		m.t.Fatal(err)
	}
}

// WaitPort waits until something accepts on 127.0.0.1:port.
func WaitPort(t testing.TB, port int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on 127.0.0.1:%d", port)
}

// Gateway builds the roomguard-gateway binary once per test process.
func Gateway(t testing.TB) string { return Binary(t, "gateway/cmd/roomguard-gateway") }

// Dashboard builds the roomguard-dashboard binary once per test process.
func Dashboard(t testing.TB) string { return Binary(t, "dashboard/cmd/roomguard-dashboard") }

type build struct {
	once sync.Once
	path string
	err  error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*build{}
)

// Binary builds the command in pkg (a path from the repository root) once
// per test process and returns the binary.
func Binary(t testing.TB, pkg string) string {
	t.Helper()
	buildsMu.Lock()
	b := builds[pkg]
	if b == nil {
		b = &build{}
		builds[pkg] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "roomguard-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, filepath.Base(pkg))
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", b.path, "./"+pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Process is a running gateway or dashboard.
type Process struct {
	cmd *exec.Cmd
	Out *SyncBuffer
}

// StartGateway runs the gateway binary with args.
func StartGateway(t testing.TB, args ...string) *Process {
	t.Helper()
	return Start(t, Gateway(t), args...)
}

// healthAnywhere gives a gateway's run a free loopback port for its health
// endpoints, and a console's serve one for its metrics, unless the test
// names one: many run at once.
func healthAnywhere(binary string, args []string) []string {
	flag := ""
	switch {
	case len(args) == 0:
		return args
	case filepath.Base(binary) == "roomguard-gateway" && args[0] == "run":
		flag = "--http"
	case filepath.Base(binary) == "roomguard-dashboard" && args[0] == "serve":
		flag = "--metrics-listen"
	default:
		return args
	}
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return args
		}
	}
	return append(append([]string(nil), args...), flag, "127.0.0.1:0")
}

// Start runs binary with args; the process is killed when the test ends.
func Start(t testing.TB, binary string, args ...string) *Process {
	t.Helper()
	p := &Process{cmd: exec.Command(binary, healthAnywhere(binary, args)...), Out: &SyncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.Out, p.Out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

// Kill kills the gateway with SIGKILL, as a power cut or a crash would.
func (p *Process) Kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	// Killed: its exit status says so, and says nothing else.
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		panic("testenv: kill: " + err.Error())
	}
	if err := p.cmd.Wait(); err != nil && !killed(err) {
		panic("testenv: wait: " + err.Error())
	}
}

// Stop asks the gateway to stop (SIGTERM) and waits.
func (p *Process) Stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	return p.cmd.Wait()
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// SyncBuffer is a bytes.Buffer safe for a process to write while a test reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// killed reports whether err is the exit of a process ended by a signal
// (the kill the caller sent), the only end it expects.
func killed(err error) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit) && !exit.Exited()
}
