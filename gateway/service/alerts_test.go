package service_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// promtool is Prometheus's rule checker: $PROMTOOL (make test sets it),
// on the PATH, or where make fetched it.
func promtool(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("PROMTOOL")}
	if p, err := exec.LookPath("promtool"); err == nil {
		candidates = append(candidates, p)
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache", "roomguard", "bin", "promtool"))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); c != "" && err == nil && st.Mode()&0o111 != 0 {
			return c
		}
	}
	t.Skip("promtool is not installed; run make test, which fetches it")
	return ""
}

// Issue 32, item 2: the example alert file passes promtool check rules and
// its tests (promtool test rules: room offline, gateway down, outbox lag,
// reader silent, log tampered, storage low, each firing when it should and
// not before), and names only metrics the binaries export.
func TestExampleAlerts(t *testing.T) {
	dir := "../../examples/prometheus"
	rules := filepath.Join(dir, "roomguard-alerts.yml")
	tool := promtool(t)
	for _, args := range [][]string{{"check", "rules", "roomguard-alerts.yml"}, {"test", "rules", "roomguard-alerts.test.yml"}} {
		cmd := exec.Command(tool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	b, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	var exported strings.Builder
	for _, src := range []string{"metrics.go", "../../dashboard/http/metrics.go"} {
		s, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		exported.Write(s)
	}
	names := regexp.MustCompile(`roomguard_[a-z_]+`).FindAllString(string(b), -1)
	if len(names) < 6 {
		t.Fatalf("the alerts name %d metrics", len(names))
	}
	for _, n := range names {
		if !strings.Contains(exported.String(), `"`+n+`"`) {
			t.Errorf("the alerts use %s, which neither binary exports", n)
		}
	}
}
