package http

import (
	"io/fs"
	"regexp"
	"testing"
)

// TestEveryWordIsTranslated: every key a template names, and every key it
// builds from a known value, has both languages.
func TestEveryWordIsTranslated(t *testing.T) {
	literal := regexp.MustCompile(`tr (?:\$l|\.Lang|\$\.Lang) "([^"]+)"`)
	pages, _ := fs.Glob(assets, "assets/templates/*.html")
	keys := map[string]string{}
	for _, p := range pages {
		b, _ := fs.ReadFile(assets, p)
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = p
		}
	}
	built := map[string][]string{
		"cst.%s":     {"home", "signed-out", "away", "missing"},
		"verdict.%s": {"intact", "broken", "unverified"},
		"change.%s":  {"armed", "disarmed", "sealed", "unsealed", "arming.refused"},
		"op.%s":      {"seal", "unseal"},
		"mode.%s":    {"open", "armed", "sealed"},
		"result.%s":  {"granted", "denied", "entered", "exited", "not_opened"},
		"role.%s":    {"guard", "officer", "auditor", "admin"},
		"idt.%s":     {"resident-id", "passport", "officer-id", "other"},
	}
	for pattern, values := range built {
		for _, v := range values {
			keys[regexp.MustCompile(`%s`).ReplaceAllString(pattern, v)] = pattern
		}
	}
	if len(keys) < 100 {
		t.Fatalf("only %d keys found: the pattern no longer matches the templates", len(keys))
	}
	for k, where := range keys {
		m, ok := messages[k]
		if !ok || m[0] == "" || m[1] == "" {
			t.Errorf("%s: no words for %q", where, k)
		}
	}
}
