package http

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/schemas"
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
		"mode.%s":    {"open", "armed", "sealed", "sealing"},
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

// vocabularies are the rooms' machine words a console shows: the schemas'
// enums and the gateway's codes. A new word there fails the tests below
// until it has its Chinese.
func vocabularies(t testing.TB) map[string][]string {
	t.Helper()
	enum := func(schema string, path ...string) []string {
		src, err := schemas.Source(schema)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(src, &v); err != nil {
			t.Fatal(err)
		}
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		var out []string
		for _, w := range v.([]any) {
			out = append(out, w.(string))
		}
		return out
	}
	return map[string][]string{
		"ev":         enum("event", "properties", "type", "enum"),
		"class":      append(enum("alarm", "properties", "class", "enum"), "room-forgery", "room-offline", "room-silent"),
		"alarmstate": enum("alarm", "properties", "state", "enum"),
		"kind":       enum("device-state", "properties", "kind", "enum"),
		"st":         enum("device-state", "properties", "state", "enum"),
		"deny":       gateway.DenyReasons,
		"dir":        {string(gateway.DirIn), string(gateway.DirOut)},
		"reader":     {string(gateway.DirIn), string(gateway.DirOut)},
		"trigger":    {gateway.InventoryCommand, gateway.InventorySchedule, gateway.InventorySeal, gateway.InventoryUnseal},
		"secrecy":    {string(gateway.TopSecret), string(gateway.Secret), string(gateway.Confidential)},
		"finding": {gateway.FindingMissing, gateway.FindingUnreadable, gateway.FindingChanged, gateway.FindingCarrier,
			gateway.FindingDowntime},
	}
}

// TestEveryMachineWordHasChinese: every word of the rooms' vocabularies has
// its Chinese and its English.
func TestEveryMachineWordHasChinese(t *testing.T) {
	n := 0
	for vocab, ws := range vocabularies(t) {
		for _, w := range ws {
			n++
			m, ok := messages[vocab+"."+w]
			if !ok || m[0] == "" || m[1] == "" {
				t.Errorf("%s %q has no words", vocab, w)
				continue
			}
			if strings.ContainsFunc(m[0], func(r rune) bool { return r < 0x80 && unicode.IsLetter(r) }) {
				t.Errorf("%s %q: the Chinese %q has Latin letters", vocab, w, m[0])
			}
		}
	}
	if n < 150 {
		t.Fatalf("only %d words: the vocabularies are no longer read", n)
	}
}

// VocabularyWords are the English machine words the zh-CN pages must not
// show (the pages test walks them).
func VocabularyWords(t testing.TB) map[string]bool {
	out := map[string]bool{}
	for _, ws := range vocabularies(t) {
		for _, w := range ws {
			out[w] = true
		}
	}
	return out
}

// VocabularyStates are the device states; VocabularyClasses the alarm
// classes, the console's own among them.
func VocabularyStates(t testing.TB) []string  { return vocabularies(t)["st"] }
func VocabularyClasses(t testing.TB) []string { return vocabularies(t)["class"] }
func VocabularyKinds(t testing.TB) []string   { return vocabularies(t)["kind"] }
