package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roomguard/roomguard/gateway/testenv"
)

// peerFlag reads the --peer flag a console's keys prints.
func peerFlag(t testing.TB, enrolment string) string {
	t.Helper()
	m := regexp.MustCompile(`--peer (\S+=\S+)`).FindStringSubmatch(enrolment)
	if m == nil {
		t.Fatalf("keys printed no --peer line:\n%s", enrolment)
	}
	return m[1]
}

// login logs user in at url, trying again until the account is there (a
// console that keeps its accounts as another publishes them).
func login(t testing.TB, ctx context.Context, url, user, password string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		do(t, ctx, "the login page", chromedp.Navigate(url+"/login"), chromedp.WaitVisible(chromedp.CSS("#login")),
			chromedp.SetValue(chromedp.CSS("#user"), user), chromedp.SetValue(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#login-button")), chromedp.WaitReady(chromedp.CSS("main")))
		if in := value(t, ctx, "logged in", chromedp.Evaluate[bool](`document.getElementById("login") === null`)); in {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged in at %s", user, url)
		}
	}
}

// onDuty puts the page's guard on duty at url.
func onDuty(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	do(t, ctx, "go on duty", chromedp.Navigate(url+"/duty"), chromedp.WaitVisible(chromedp.CSS("#duty-start")),
		chromedp.Click(chromedp.CSS("#duty-start")), chromedp.WaitVisible(chromedp.CSS("#on-duty")))
}

// Issue 33, item 4: two consoles on one broker, each a real process with
// its own database, a duty screen open at each in its own Chromium. The
// admin made at the first console logs in at the second with the same
// password (the accounts' primary publishes them); an alarm sounds at
// both; acknowledged at the first, the second shows it acknowledged (the
// room's word). The first console's machine dies (kill -9): the second
// says so on its duty screen and keeps sounding the next alarm; the
// first's page says its console is lost and offers the second. The
// second's audit log holds what was done at the first; its users page
// says where accounts are changed, and refuses a change.
func TestTwoConsolesInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker, a gateway, two dashboards and two Chromiums")
	}
	s := newStack(t)
	dir := t.TempDir()
	db1, db2 := filepath.Join(dir, "console-1.db"), filepath.Join(dir, "console-2.db")
	e1, e2 := s.enrol(db1, "console-1"), s.enrol(db2, "console-2")
	s.startRoom(e1, e2)
	p1, p2 := testenv.FreePort(t), testenv.FreePort(t)
	url1, url2 := fmt.Sprintf("http://127.0.0.1:%d", p1), fmt.Sprintf("http://127.0.0.1:%d", p2)
	c1, _ := serveConsole(t, db1, s.broker.URL(), "--principal", "console-1", "--listen", fmt.Sprintf("127.0.0.1:%d", p1),
		"--peer", peerFlag(t, e2), "--peer-url", "console-2="+url2+"/duty", "--keepalive", "2s")
	c2, _ := serveConsole(t, db2, s.broker.URL(), "--principal", "console-2", "--listen", fmt.Sprintf("127.0.0.1:%d", p2),
		"--peer", peerFlag(t, e1), "--peer-url", "console-1="+url1+"/duty", "--accounts-from", "console-1", "--keepalive", "2s")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("DEBUG console-1:\n%s\nDEBUG console-2:\n%s", c1.Out.String(), c2.Out.String())
		}
	})
	s.setup, s.url = setupLink(t, c1), url1
	a, b := dutyBrowser(t), dutyBrowser(t)
	s.firstAdmin(a, "wang.fang", "王芳", "")
	if strings.Contains(c2.Out.String(), "/setup?token=") {
		t.Fatal("the console that keeps the primary's accounts offers a first-run setup")
	}
	login(t, b, url2, "wang.fang", "console-pass-1")
	onDuty(t, a, url1)
	onDuty(t, b, url2)
	for _, ctx := range []context.Context{a, b} {
		if v := value(t, ctx, "a peer banner", chromedp.Evaluate[bool](`document.querySelector(".peer-down") !== null`)); v {
			t.Fatal("a peer console shown offline while both run")
		}
	}

	s.sim("input/door-main", "open") // forced
	for _, ctx := range []context.Context{a, b} {
		waitJS(t, ctx, "the alarm on each duty screen", `document.querySelector('tr.alarm[data-class="door-forced"][data-acked="0"]') !== null`)
		waitJS(t, ctx, "its tone at each", `window.rgTones >= 1`)
	}
	id := value(t, a, "the alarm's id", chromedp.AttributeValue(chromedp.CSS(`tr.alarm[data-class="door-forced"]`), "id"))
	alarm := strings.TrimPrefix(id.Value, "alarm-")
	do(t, a, "acknowledge at console-1",
		chromedp.SetValue(chromedp.CSS("#comment-"+alarm), "值班员到场：门已关好"),
		chromedp.Click(chromedp.CSS("#ack-"+alarm)),
		chromedp.WaitVisible(chromedp.CSS(`#alarm-`+alarm+`[data-acked="1"]`)))
	waitJS(t, b, "acknowledged at console-2 too", `document.querySelector('#alarm-`+alarm+`[data-acked="1"]') !== null`)
	s.sim("input/door-main", "closed")

	// console-1's machine dies.
	c1.Kill()
	waitJS(t, b, "console-1 offline on console-2's duty screen", seen("peer-down-console-1"))
	if text := value(t, b, "the banner", chromedp.Text(chromedp.CSS("#peer-down-console-1"))); !strings.Contains(text, "console-1") || !strings.Contains(text, "离线") {
		t.Fatalf("the banner says %q", text)
	}
	waitJS(t, a, "console-1's page says it is lost", seen("live-lost"))
	if href := value(t, a, "the way to console-2", chromedp.Evaluate[string](
		`(() => { const l = document.querySelector("#live-lost a.peer-link"); const r = l && l.getBoundingClientRect(); return r && r.width > 0 ? l.href : ""; })()`)); href != url2+"/duty" {
		t.Fatalf("console-1's lost page offers %q, want %s/duty", href, url2)
	}
	screenshot(t, a, "console-1-lost")
	tones := value(t, b, "tones", chromedp.Evaluate[int](`window.rgTones`))
	s.sim("input/door-main", "open") // forced again, console-1 dead
	waitJS(t, b, "the new alarm at console-2", `document.querySelector('tr.alarm[data-class="door-forced"][data-acked="0"]') !== null`)
	waitJS(t, b, "and its tone", fmt.Sprintf("window.rgTones > %d", tones))
	screenshot(t, b, "console-2-alone")

	// What was done at console-1 is in console-2's audit log.
	do(t, b, "console-2's audit log", chromedp.Navigate(url2+"/audit"), chromedp.WaitVisible(chromedp.CSS("#audit")))
	rows := value(t, b, "its rows from console-1", chromedp.Evaluate[string](
		`[...document.querySelectorAll("#audit tr")].filter(r => r.querySelector("td.console") && r.querySelector("td.console").innerText === "console-1").map(r => r.innerText).join("\n")`))
	if !strings.Contains(rows, "wang.fang") && !strings.Contains(rows, "王芳") || !strings.Contains(rows, alarm) {
		t.Fatalf("console-2's audit log from console-1:\n%s", rows)
	}
	// Accounts are changed at console-1 only.
	do(t, b, "console-2's users", chromedp.Navigate(url2+"/users"), chromedp.WaitReady(chromedp.CSS("main")))
	waitJS(t, b, "where accounts are kept", seen("accounts-elsewhere"))
	do(t, b, "an account made at console-2", chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.querySelector('form[action="/users"]');
		f.querySelector('[name=user]').value = "li.si"; f.querySelector('[name=display]').value = "李四";
		f.querySelector("[name=password]").value = "a-long-pass-2026"; f.querySelector("[name=password2]").value = "a-long-pass-2026";
		f.submit();
	})()`))
	waitJS(t, b, "refused", seen("error"))
	if text := value(t, b, "the refusal", chromedp.Text(chromedp.CSS("#error"))); !strings.Contains(text, "console-1") {
		t.Fatalf("the refusal says %q", text)
	}
}
