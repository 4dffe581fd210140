package http

import (
	"net/url"
	"strings"
	"testing"
)

// Issue 19, item 7: after a login the console goes back only to a path on
// this site: parsed, not pattern-matched, so a tab, a backslash or an
// encoded slash that a browser would drop or fold never takes it away.
func TestLoginRedirectStaysOnThisSite(t *testing.T) {
	for next, want := range map[string]string{
		"/alarms":                   "/alarms",
		"/rooms/jiyao-301?lang=en":  "/rooms/jiyao-301?lang=en",
		"/entries?person=%E5%BC%A0": "/entries?person=%E5%BC%A0",
		"":                          "/",
		"/\t/evil.example/":         "/",
		"/\n/evil.example/":         "/",
		"//evil.example/":           "/",
		"/\\evil.example/":          "/",
		"\\\\evil.example":          "/",
		"https://evil.example/":     "/",
		"http:/evil.example":        "/",
		"/%2F/evil.example":         "/",
		"/%5Cevil.example":          "/",
		"javascript:alert(1)":       "/",
		" /alarms":                  "/",
		"/alarms#frag":              "/alarms",
		"/?\\":                      "/?%5C=",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

// FuzzLoginRedirect: whatever next is, the redirect is a path on this site
// that a browser cannot read as another host.
func FuzzLoginRedirect(f *testing.F) {
	for _, s := range []string{"/alarms", "/\t/evil.example/", "//x", "/%2F/x", "/\\x", "https://x", "/a?b=c", "/?\\", "/a?x=\\evil&y=\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		u, err := url.Parse(got)
		if err != nil || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || u.Host != "" || u.Scheme != "" ||
			strings.ContainsAny(got, "\\\t\r\n") || strings.HasPrefix(strings.ToLower(got), "/%2f") || strings.HasPrefix(strings.ToLower(got), "/%5c") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
	})
}
