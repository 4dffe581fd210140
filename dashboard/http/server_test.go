package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	dhttp "github.com/roomguard/roomguard/dashboard/http"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/schemas"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// cheap argon2 for tests: the cost is not what is tested
var testArgon2 = dashboard.Argon2Params{Time: 1, MemKiB: 64, Threads: 1}

// rooms records the commands the console sends.
type rooms struct {
	mu    sync.Mutex
	calls []string
	args  []map[string]any
	// reply, when set, answers the commands (else every one succeeds)
	reply func(room, name string, args map[string]any) (map[string]any, error)
	t     testing.TB
	store *sqlite.Store // PinKey pins there, as the link does
}

func (r *rooms) Call(_ context.Context, room, name string, args map[string]any) (map[string]any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, room+" "+name)
	r.args = append(r.args, args)
	// what a gateway checks first: the command's schema
	cmd := map[string]any{"id": "dash-test"}
	for k, v := range args {
		cmd[k] = v
	}
	b, _ := json.Marshal(cmd)
	if err := schemas.ValidateJSON("cmd-"+strings.ReplaceAll(name, "/", "-"), b); err != nil {
		r.t.Errorf("the console sent %s a command its schema refuses: %v\n%s", name, err, b)
		return nil, gateway.Errorf(gateway.EINVALID, "%s: %v", name, err)
	}
	if r.reply != nil {
		return r.reply(room, name, args)
	}
	return map[string]any{}, nil
}
func (r *rooms) Connected() bool { return true }
func (r *rooms) PinKey(room, key, by string) error {
	if r.store == nil {
		return gateway.Errorf(gateway.EINTERNAL, "no store")
	}
	return r.store.PinKey(room, key, by)
}
func (r *rooms) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.calls) }

type console struct {
	t     testing.TB
	url   string
	store *sqlite.Store
	clock *clocktest.Clock
	rooms *rooms
	srv   *dhttp.Server
}

func newConsole(t testing.TB, users ...string) *console {
	t.Helper()
	clock := clocktest.New(t0)
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "dashboard.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c := &console{t: t, store: store, clock: clock, rooms: &rooms{t: t, store: store}}
	c.srv = &dhttp.Server{Store: store, Rooms: c.rooms, Clock: clock, Argon2: testArgon2, SetupToken: "setup-secret-token"}
	if err := c.srv.Init(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(c.srv)
	t.Cleanup(hs.Close)
	c.url = hs.URL
	for _, u := range users { // "name:role"
		name, role, _ := strings.Cut(u, ":")
		if err := store.CreateUser(dashboard.User{Name: name, Display: name, Role: dashboard.Role(role),
			Hash: dashboard.HashPassword(name+"-password", testArgon2), Created: t0, CreatedBy: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// browser is one client with its cookies.
type browser struct {
	c      *console
	client *http.Client
}

func (c *console) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{c: c, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) get(path string) (int, string) {
	b.c.t.Helper()
	res, err := b.client.Get(b.c.url + path)
	if err != nil {
		b.c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// csrf reads the token a page's forms carry.
func (b *browser) csrf(path string) string {
	b.c.t.Helper()
	_, body := b.get(path)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.c.t.Fatalf("no csrf token on %s", path)
	}
	return m[1]
}

func (b *browser) post(path string, form url.Values, header ...string) (int, string) {
	b.c.t.Helper()
	req, _ := http.NewRequest("POST", b.c.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusSeeOther {
		return res.StatusCode, res.Header.Get("Location")
	}
	return res.StatusCode, string(body)
}

func (b *browser) login(user, password string) (int, string) {
	b.c.t.Helper()
	return b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "user": {user}, "password": {password}})
}

func (c *console) as(user string) *browser {
	c.t.Helper()
	b := c.browser()
	if code, where := b.login(user, user+"-password"); code != http.StatusSeeOther || where != "/" {
		c.t.Fatalf("login %s: %d %s", user, code, where)
	}
	return b
}

func (c *console) audited(action string) []dashboard.AuditEntry {
	c.t.Helper()
	all, err := c.store.AuditLog(sqlite.AuditFilter{})
	if err != nil {
		c.t.Fatal(err)
	}
	var out []dashboard.AuditEntry
	for _, a := range all {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

const personnelCSV = "id,name,cards,level,role,rooms\np-zhang,张伟,62E3086CED,核心,机要员,jiyao-301\n"

func TestGuardCannotEditThePersonnelRegister(t *testing.T) {
	c := newConsole(t, "guard1:guard", "officer1:officer")
	g := c.as("guard1")
	code, body := g.post("/registers/personnel", url.Values{"csrf": {g.csrf("/registers")}, "csv": {personnelCSV}})
	if code != http.StatusForbidden || !strings.Contains(body, "值班人员无权执行此操作") {
		t.Fatalf("a guard's edit: %d %s", code, body)
	}
	if _, err := c.store.Register("personnel"); gateway.ErrorCode(err) != gateway.ENOTFOUND {
		t.Fatalf("the register changed: %v", err)
	}
	if a := c.audited("forbidden"); len(a) != 1 || a[0].User != "guard1" {
		t.Fatalf("the refusal is not in the audit log: %+v", a)
	}
	o := c.as("officer1")
	code, where := o.post("/registers/personnel", url.Values{"csrf": {o.csrf("/registers")}, "csv": {personnelCSV}})
	if code != http.StatusSeeOther || !strings.Contains(where, "done=1") {
		t.Fatalf("an officer's edit: %d %s", code, where)
	}
	r, err := c.store.Register("personnel")
	if err != nil || r.Version != 1 || r.Count != 1 || r.UpdatedBy != "officer1" {
		t.Fatalf("register %+v, %v", r, err)
	}
	// a register with a bad line is refused whole, naming the line
	code, where = o.post("/registers/personnel", url.Values{"csrf": {o.csrf("/registers")}, "csv": {personnelCSV + "p-li,李明,62E3086CEE,超级,机要员,jiyao-301\n"}})
	if code != http.StatusSeeOther || !strings.Contains(where, "line+3%3A+level") {
		t.Fatalf("a bad register: %d %s", code, where)

	}
	if r2, _ := c.store.Register("personnel"); r2.Version != 1 {
		t.Fatalf("a bad register changed the master: version %d", r2.Version)
	}
}

func TestAuditorCannotAcknowledge(t *testing.T) {
	c := newConsole(t, "auditor1:auditor", "guard1:guard")
	a := c.as("auditor1")
	// the auditor's page has no ack form, so take a token from the page it has
	code, _ := a.post("/alarms/ack", url.Values{"csrf": {a.csrf("/")}, "room": {"jiyao-301"}, "alarm": {"jiyao-301-7"}, "comment": {"看过了"}})
	if code != http.StatusForbidden {
		t.Fatalf("an auditor's ack: %d", code)
	}
	if c.rooms.count() != 0 {
		t.Fatalf("the auditor's ack reached the room: %v", c.rooms.calls)
	}
	g := c.as("guard1")
	code, where := g.post("/alarms/ack", url.Values{"csrf": {g.csrf("/")}, "room": {"jiyao-301"}, "alarm": {"jiyao-301-7"}, "comment": {"现场检查：窗户已关闭"}})
	if code != http.StatusSeeOther || !strings.Contains(where, "done=1") {
		t.Fatalf("a guard's ack: %d %s", code, where)
	}
	if c.rooms.calls[0] != "jiyao-301 ack" || c.rooms.args[0]["by"] != "guard1" || c.rooms.args[0]["comment"] != "现场检查：窗户已关闭" {
		t.Fatalf("the command: %v %v", c.rooms.calls, c.rooms.args)
	}
	// no comment: refused before the room is asked
	code, where = g.post("/alarms/ack", url.Values{"csrf": {g.csrf("/")}, "room": {"jiyao-301"}, "alarm": {"jiyao-301-8"}, "comment": {"  "}})
	if !strings.Contains(where, "comment+is+required") || c.rooms.count() != 1 {
		t.Fatalf("an ack without a comment: %d %s, %d calls", code, where, c.rooms.count())
	}
	if acks := c.audited("alarm.ack"); len(acks) != 2 || acks[0].Result == "ok" || acks[1].Result != "ok" {
		t.Fatalf("audit %+v", acks)
	}
}

func TestPostWithoutTheCSRFTokenIsRefused(t *testing.T) {
	c := newConsole(t, "admin1:admin")
	b := c.as("admin1")
	newUser := url.Values{"user": {"guard2"}, "role": {"guard"}, "password": {"a-long-password"}, "password2": {"a-long-password"}}
	if code, _ := b.post("/users", newUser); code != http.StatusForbidden {
		t.Fatalf("no token: %d", code)
	}
	newUser.Set("csrf", "forged")
	if code, _ := b.post("/users", newUser); code != http.StatusForbidden {
		t.Fatalf("a wrong token: %d", code)
	}
	newUser.Set("csrf", b.csrf("/users"))
	if code, _ := b.post("/users", newUser, "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
		t.Fatalf("a cross-site post with the token: %d", code)
	}
	if code, _ := b.post("/users", newUser, "Origin", "http://evil.example"); code != http.StatusForbidden {
		t.Fatalf("a post from another origin: %d", code)
	}
	if _, err := c.store.User("guard2"); err == nil {
		t.Fatal("a refused post created the account")
	}
	if code, where := b.post("/users", newUser); code != http.StatusSeeOther || !strings.Contains(where, "done=1") {
		t.Fatalf("the right post: %d %s", code, where)
	}
	if u, err := c.store.User("guard2"); err != nil || u.Role != dashboard.RoleGuard || u.CreatedBy != "admin1" {
		t.Fatalf("account %+v %v", u, err)
	}
	if n := len(c.audited("csrf.refused")); n != 4 {
		t.Fatalf("%d refusals audited, want 4", n)
	}
	// the login form has its own token
	anon := c.browser()
	if code, _ := anon.post("/login", url.Values{"user": {"admin1"}, "password": {"admin1-password"}}); code != http.StatusForbidden {
		t.Fatalf("a login without the token: %d", code)
	}
}

func TestTheSixthWrongPasswordLocksTheAccount(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	b := c.browser()
	for i := 1; i <= dashboard.MaxFailedLogins; i++ {
		if code, body := b.login("guard1", "wrong"); code != http.StatusUnauthorized || !strings.Contains(body, "用户名或密码错误") {
			t.Fatalf("wrong password %d: %d", i, code)
		}
	}
	if code, body := b.login("guard1", "wrong"); code != http.StatusForbidden || !strings.Contains(body, "已锁定") {
		t.Fatalf("the sixth wrong password: %d %s", code, body)
	}
	if code, _ := b.login("guard1", "guard1-password"); code != http.StatusForbidden {
		t.Fatalf("the right password while locked: %d", code)
	}
	if a := c.audited("login.lockout"); len(a) != 1 || a[0].User != "guard1" {
		t.Fatalf("lockout audit %+v", a)
	}
	c.clock.Advance(dashboard.LockoutFor + time.Second)
	if code, where := b.login("guard1", "guard1-password"); code != http.StatusSeeOther || where != "/" {
		t.Fatalf("after the lockout: %d %s", code, where)
	}
	// an unknown user is told the same as a wrong password
	if code, body := b.login("nobody", "wrong"); code != http.StatusUnauthorized || !strings.Contains(body, "用户名或密码错误") {
		t.Fatalf("an unknown user: %d", code)
	}
}

func TestFirstRunAndSessions(t *testing.T) {
	c := newConsole(t)
	b := c.browser()
	if code, _ := b.get("/"); code != http.StatusSeeOther {
		t.Fatalf("no account yet: / gave %d", code)
	}
	form := func(token string) url.Values {
		return url.Values{"csrf": {b.csrf("/setup")}, "token": {token}, "user": {"admin1"}, "display": {"王芳"},
			"password": {"first-admin-pass"}, "password2": {"first-admin-pass"}}
	}
	if code, _ := b.post("/setup", form("guess")); code != http.StatusForbidden {
		t.Fatalf("a wrong setup token: %d", code)
	}
	if code, where := b.post("/setup", form("setup-secret-token")); code != http.StatusSeeOther || where != "/login?created=1" {
		t.Fatalf("setup: %d %s", code, where)
	}
	// Issue 28, item 10: the first admin is told it worked.
	if _, body := b.get("/login?created=1"); !strings.Contains(body, "管理员账户已创建") {
		t.Fatal("no confirmation after the first admin was created")
	}
	if u, err := c.store.User("admin1"); err != nil || u.Role != dashboard.RoleAdmin {
		t.Fatalf("first admin %+v %v", u, err)
	}
	if n, _ := c.store.CountUsers(); n != 1 {
		t.Fatal(n)
	}
	// the token is spent, and setup is closed once an account exists
	if code, where := b.get("/setup"); code != http.StatusSeeOther || where != "" && !strings.Contains(where, "login") {
		t.Fatalf("setup after the first account: %d", code)
	}
	if code, where := b.login("admin1", "first-admin-pass"); code != http.StatusSeeOther || where != "/" {
		t.Fatalf("login: %d %s", code, where)
	}
	if code, _ := b.get("/audit"); code != http.StatusOK {
		t.Fatalf("audit page: %d", code)
	}
	c.clock.Advance(dashboard.SessionIdle + time.Minute)
	if code, _ := b.get("/audit"); code != http.StatusSeeOther {
		t.Fatalf("an idle session still worked: %d", code)
	}
}

func TestBadVisitorFormChangesNothing(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	g := c.as("guard1")
	code, where := g.post("/visitors", url.Values{"csrf": {g.csrf("/visitors")}, "room": {"jiyao-301"}, "name": {"刘访"},
		"id_number": {"11010519491231002X"}, "from": {"tomorrow"}, "until": {"2026-11-22T12:00"}})
	if code != http.StatusSeeOther || !strings.Contains(where, "error=from") || c.rooms.count() != 0 {
		t.Fatalf("a bad date: %d %s, %d calls", code, where, c.rooms.count())
	}
	a := c.audited("visitor.register")
	if len(a) != 1 || strings.Contains(a[0].Detail, "11010519491231002X") || !strings.Contains(a[0].Detail, "110105********002X") {
		t.Fatalf("the audit entry must hold the ID number masked: %+v", a)
	}
}

// Issue 19, item 5: wrong passwords and the right one sent at once for one
// account: the count and the lock are one step with the login's own, so the
// lock always stands at the end and a login never clears it.
func TestLoginLockoutIsAtomic(t *testing.T) {
	for round := 0; round < 10; round++ {
		c := newConsole(t, "guard1:guard")
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			b := c.browser()
			password := "wrong"
			if i == 8 {
				password = "guard1-password"
			}
			token := b.csrf("/login")
			wg.Go(func() {
				b.post("/login", url.Values{"csrf": {token}, "user": {"guard1"}, "password": {password}})
			})
		}
		wg.Wait()
		u, err := c.store.User("guard1")
		if err != nil {
			t.Fatal(err)
		}
		if !u.Locked(c.clock.Now()) {
			t.Fatalf("round %d: 15 wrong passwords and the account is not locked (failed %d)", round, u.Failed)
		}
		// Locked, the right password does not get in.
		if code, _ := c.browser().login("guard1", "guard1-password"); code != http.StatusForbidden {
			t.Fatalf("round %d: the right password on a locked account: %d", round, code)
		}
	}
}

// Issue 19, item 6: logins at once cannot exhaust the console's memory:
// at most MaxPasswordChecks argon2id checks run together (each takes its
// memory), the others wait their turn, and one address gets
// LoginsPerMinute attempts a minute; the rest are refused unread.
func TestLoginsAreBounded(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.srv.MaxPasswordChecks, c.srv.LoginsPerMinute = 2, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 32; i++ {
		b := c.browser()
		token := b.csrf("/login")
		wg.Go(func() {
			code, _ := b.post("/login", url.Values{"csrf": {token}, "user": {fmt.Sprintf("nobody-%d", i)}, "password": {"x"}})
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if peak := c.srv.PeakPasswordChecks(); peak > 2 {
		t.Fatalf("%d password checks ran at once, want at most 2", peak)
	}
	if codes[http.StatusUnauthorized] != 10 || codes[http.StatusTooManyRequests] != 22 {
		t.Fatalf("answers %v: want 10 checked (401) and 22 refused (429)", codes)
	}
	if a := c.audited("login.throttled"); len(a) != 22 {
		t.Fatalf("%d throttled logins audited", len(a))
	}
	// A minute later the address may try again.
	c.clock.Advance(time.Minute)
	if code, _ := c.browser().login("guard1", "guard1-password"); code != http.StatusSeeOther {
		t.Fatalf("a login a minute later: %d", code)
	}
}

// Issue 17, item 4: the console names, in a command's by, the register
// person the account acts for (set by an admin), not the login name.
func TestCommandsNameTheAccountsPerson(t *testing.T) {
	c := newConsole(t, "admin1:admin", "guard1:guard")
	adm := c.as("admin1")
	code, where := adm.post("/users/change", url.Values{"csrf": {adm.csrf("/users")}, "user": {"guard1"}, "what": {"person"}, "person": {"p-zhou"}})
	if code != http.StatusSeeOther || strings.Contains(where, "error") {
		t.Fatalf("binding guard1 to p-zhou: %d %s", code, where)
	}
	g := c.as("guard1")
	g.post("/alarms/ack", url.Values{"csrf": {g.csrf("/")}, "room": {"jiyao-301"}, "alarm": {"jiyao-301-7"}, "comment": {"现场检查：窗户已关闭"}})
	if c.rooms.count() != 1 || c.rooms.args[0]["by"] != "p-zhou" {
		t.Fatalf("the command: %v %v", c.rooms.calls, c.rooms.args)
	}
	if _, page := adm.get("/users"); !strings.Contains(page, `<td class="person">p-zhou</td>`) {
		t.Fatalf("the users page does not show the person")
	}
}

// Issue 17, item 8: an owner changes their password (the current one
// checked, the rules applied, every session ended); an admin resets one
// with a temporary password that its owner must change at the next login
// before anything else. Each step is audited, never with a password.
func TestPasswordChangeAndReset(t *testing.T) {
	c := newConsole(t, "admin1:admin", "guard1:guard")
	g := c.as("guard1")
	change := func(b *browser, old, pw, pw2 string) (int, string) {
		return b.post("/password", url.Values{"csrf": {b.csrf("/password")}, "old": {old}, "password": {pw}, "password2": {pw2}})
	}
	for _, bad := range [][3]string{
		{"wrong-old-password", "a new long pass 1", "a new long pass 1"},
		{"guard1-password", "a new long pass 1", "another one entirely"},
		{"guard1-password", "short", "short"},
		{"guard1-password", "guard1-password", "guard1-password"},
	} {
		if code, where := change(g, bad[0], bad[1], bad[2]); code != http.StatusSeeOther || !strings.HasPrefix(where, "/password?error=") {
			t.Fatalf("%v: %d %s", bad, code, where)
		}
	}
	if code, where := change(g, "guard1-password", "a new long pass 1", "a new long pass 1"); code != http.StatusSeeOther || where != "/login?changed=1" {
		t.Fatalf("change: %d %s", code, where)
	}
	if code, _ := g.get("/alarms"); code != http.StatusSeeOther {
		t.Fatalf("the session outlived the change: %d", code)
	}
	if code, _ := c.browser().login("guard1", "guard1-password"); code != http.StatusUnauthorized {
		t.Fatalf("the old password still works: %d", code)
	}
	if code, where := c.browser().login("guard1", "a new long pass 1"); code != http.StatusSeeOther || where != "/" {
		t.Fatalf("the new password: %d %s", code, where)
	}

	// The admin resets it: the temporary password logs in, and every page
	// leads to the change, every command is refused, until it is changed.
	adm := c.as("admin1")
	if code, where := adm.post("/users/change", url.Values{"csrf": {adm.csrf("/users")}, "user": {"guard1"}, "what": {"reset"}, "password": {"temporary pass 42"}}); code != http.StatusSeeOther || strings.Contains(where, "error") {
		t.Fatalf("reset: %d %s", code, where)
	}
	g = c.browser()
	if code, where := g.login("guard1", "temporary pass 42"); code != http.StatusSeeOther || where != "/" {
		t.Fatalf("login with the temporary password: %d %s", code, where)
	}
	if code, where := g.get("/alarms"); code != http.StatusSeeOther {
		t.Fatalf("a page before the change: %d %s", code, where)
	}
	if _, page := g.get("/password"); !strings.Contains(page, `id="must-change"`) {
		t.Fatal("the change page does not say why")
	}
	tok := g.csrf("/password")
	if code, _ := g.post("/alarms/ack", url.Values{"csrf": {tok}, "room": {"jiyao-301"}, "alarm": {"jiyao-301-7"}, "comment": {"看过了"}}); code != http.StatusForbidden || c.rooms.count() != 0 {
		t.Fatalf("a command before the change: %d, %d calls", code, c.rooms.count())
	}
	if code, where := change(g, "temporary pass 42", "my own pass 2026", "my own pass 2026"); code != http.StatusSeeOther || where != "/login?changed=1" {
		t.Fatalf("the forced change: %d %s", code, where)
	}
	g = c.browser()
	if code, where := g.login("guard1", "my own pass 2026"); code != http.StatusSeeOther || where != "/" {
		t.Fatalf("after the forced change: %d %s", code, where)
	}
	if code, _ := g.get("/alarms"); code != http.StatusOK {
		t.Fatalf("pages after the change: %d", code)
	}
	if len(c.audited("user.password")) != 6 || len(c.audited("user.reset")) != 1 {
		t.Fatalf("audited %d password changes (want 4 refused and 2 done) and %d resets", len(c.audited("user.password")), len(c.audited("user.reset")))
	}
	for _, a := range append(c.audited("user.password"), c.audited("user.reset")...) {
		if strings.Contains(a.Detail+a.Result, "pass") && strings.Contains(a.Detail+a.Result, "42") {
			t.Fatalf("a password in the audit log: %+v", a)
		}
	}
}

// Issue 27, finding 11: a post with a valid token is refused when its Origin
// is "null" (a sandboxed frame, a file, a redirect chain: not this site),
// or when a browser sent it (Sec-Fetch-Site) without an Origin; the login
// form too. A client that is not a browser sends neither and is judged by
// its token.
func TestPostFromNoOriginIsRefused(t *testing.T) {
	c := newConsole(t, "admin1:admin")
	b := c.as("admin1")
	form := func(user string) url.Values {
		return url.Values{"user": {user}, "role": {"guard"}, "password": {"a-long-password"}, "password2": {"a-long-password"}, "csrf": {b.csrf("/users")}}
	}
	for i, h := range [][]string{{"Origin", "null"}, {"Sec-Fetch-Site", "same-origin"}, {"Sec-Fetch-Site", "none", "Origin", "null"}} {
		if code, _ := b.post("/users", form(fmt.Sprintf("guard%d", i)), h...); code != http.StatusForbidden {
			t.Errorf("a post with %v and the token: %d", h, code)
		}
	}
	if code, _ := b.post("/users", form("guard9"), "Sec-Fetch-Site", "same-origin", "Origin", c.url); code != http.StatusSeeOther {
		t.Fatalf("a browser's post from this site: %d", code)
	}
	anon := c.browser()
	if code, _ := anon.post("/login", url.Values{"csrf": {anon.csrf("/login")}, "user": {"admin1"}, "password": {"admin1-password"}}, "Origin", "null"); code != http.StatusForbidden {
		t.Fatalf("a login from origin null: %d", code)
	}
}

// from is a browser on another machine of the LAN: its connections leave
// from loopback address addr (127.0.0.2, …).
func (c *console) from(addr string) *browser {
	b := c.browser()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}}
	b.client.Transport = &http.Transport{DialContext: d.DialContext}
	return b
}

// Issue 27, finding 11: wrong passwords lock an account at the address they
// come from, for a time that grows with each lock, not everywhere: a
// stranger cannot lock the guards out at shift change. The admin still sees
// the lock and clears it.
func TestWrongPasswordsLockOnlyTheirAddress(t *testing.T) {
	c := newConsole(t, "admin1:admin", "guard1:guard")
	attacker, guard := c.from("127.0.0.2"), c.from("127.0.0.3")
	lockout := func(b *browser) {
		t.Helper()
		for i := 1; i <= dashboard.MaxFailedLogins; i++ {
			if code, _ := b.login("guard1", "wrong"); code != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %d", i, code)
			}
		}
		if code, body := b.login("guard1", "wrong"); code != http.StatusForbidden || !strings.Contains(body, "已锁定") {
			t.Fatalf("the sixth wrong password: %d", code)
		}
	}
	lockout(attacker)
	if code, _ := attacker.login("guard1", "guard1-password"); code != http.StatusForbidden {
		t.Fatalf("the right password from the locked address: %d", code)
	}
	if code, where := guard.login("guard1", "guard1-password"); code != http.StatusSeeOther || where != "/" {
		t.Fatalf("the guard at another address was locked out: %d %s", code, where)
	}
	// The admin sees it and the address, and clears it.
	admin := c.as("admin1")
	if _, body := admin.get("/users"); !strings.Contains(body, "已锁定") || !strings.Contains(body, "127.0.0.2") {
		t.Fatal("the users page does not show the lock and where it came from")
	}
	// Each lock lasts longer than the one before.
	c.clock.Advance(dashboard.LockoutFirst + time.Second)
	if code, _ := attacker.login("guard1", "wrong"); code != http.StatusForbidden {
		t.Fatalf("a wrong password after the first lock: %d (locks again at once)", code)
	}
	c.clock.Advance(dashboard.LockoutFirst + time.Second)
	if code, _ := attacker.login("guard1", "guard1-password"); code != http.StatusForbidden {
		t.Fatalf("the second lock lasted no longer than the first: %d", code)
	}
	admin.post("/users/change", url.Values{"csrf": {admin.csrf("/users")}, "user": {"guard1"}, "what": {"unlock"}})
	if code, where := attacker.login("guard1", "guard1-password"); code != http.StatusSeeOther || where != "/" {
		t.Fatalf("after the admin's unlock: %d %s", code, where)
	}
}
