package dist_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway/testenv"
)

// TestGatewayUnderQemu builds the gateway for a Raspberry Pi as make dist
// does (cgo, cross-compiled) — linux/arm64 (Pi 3/4/5 on a 64-bit OS) and
// linux/arm with GOARM=7 (a 32-bit Raspberry Pi OS) — and runs each under
// qemu-user: its version, check-config, and a simulated room with
// Mosquitto whose events reach a subscriber (issue 21, item 1; armv7:
// issue 32, item 7).
func TestGatewayUnderQemu(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds and emulates")
	}
	for _, target := range []struct {
		name, cc, qemu, sysroot, file string
		env                           []string
	}{
		{"arm64", "aarch64-linux-gnu-gcc", "qemu-aarch64-static", "/usr/aarch64-linux-gnu", "ARM aarch64", []string{"GOARCH=arm64"}},
		{"armv7", "arm-linux-gnueabihf-gcc", "qemu-arm-static", "/usr/arm-linux-gnueabihf", "ARM, EABI5", []string{"GOARCH=arm", "GOARM=7"}},
	} {
		t.Run(target.name, func(t *testing.T) {
			underQemu(t, target.name, target.cc, target.qemu, target.sysroot, target.file, target.env)
		})
	}
}

func underQemu(t *testing.T, name, cc, qemu, sysroot, file string, env []string) {
	for _, tool := range []string{cc, qemu} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (make test installs it)", tool)
			}
			t.Skipf("%s is missing: make cross installs it", tool)
		}
	}
	bin := filepath.Join(t.TempDir(), "roomguard-gateway")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=qemu-test", "-o", bin, "./gateway/cmd/roomguard-gateway")
	build.Dir = root()
	build.Env = append(append(os.Environ(), "CGO_ENABLED=1", "CC="+cc, "GOOS=linux"), env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross build: %v\n%s", err, out)
	}
	if out := run(t, "file", bin); !strings.Contains(out, file) {
		t.Fatalf("not an %s binary: %s", name, out)
	}
	arm := func(args ...string) *exec.Cmd {
		return exec.Command(qemu, append([]string{"-L", sysroot, bin}, args...)...)
	}
	if out, err := arm("--version").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "roomguard-gateway qemu-test" {
		t.Fatalf("version under qemu: %v %s", err, out)
	}

	m := testenv.StartMosquitto(t)
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join(root(), "examples", "room.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "room.yaml")
	conf := strings.Replace(string(example), "/var/lib/roomguard", dir, 1) + fmt.Sprintf("\nmqtt: {url: %q, keepalive: 5s}\naccept_unsigned: true\n", m.URL())
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := arm("check-config", cfg).CombinedOutput(); err != nil || !strings.Contains(string(out), "room jiyao-301") {
		t.Fatalf("check-config under qemu: %v %s", err, out)
	}

	var mu sync.Mutex
	var types []string
	online := false
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(m.URL()).SetClientID("qemu-sub-" + name))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(100)
	sub.Subscribe("roomguard/jiyao-301/#", 1, func(_ paho.Client, msg paho.Message) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(msg.Topic(), "/events"):
			var e struct{ Type string }
			json.Unmarshal(msg.Payload(), &e)
			types = append(types, e.Type)
		case strings.HasSuffix(msg.Topic(), "/sim/ports"):
			online = true
		}
	}).WaitTimeout(5 * time.Second)

	gw := arm("run", "--sim", "--config", cfg, "--http", "127.0.0.1:0")
	out := &testenv.SyncBuffer{}
	gw.Stdout, gw.Stderr = out, out
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { gw.Process.Kill(); gw.Wait() }()
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second) // emulated: slow
		for {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("under qemu: no %s; events %v\n%s", what, types, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("simulated room online", func() bool { return online })
	sub.Publish("roomguard/jiyao-301/sim/input/door-main", 1, false, "open").WaitTimeout(5 * time.Second)
	wait("door.opened event", func() bool { return strings.Contains(strings.Join(types, " "), "door.opened") })
}
