package http

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

const (
	sessionCookie = "rg_session"
	loginCookie   = "rg_login" // the login form's CSRF token (double submit: no session yet)
	langCookie    = "rg_lang"
)

func token() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("http: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func sessionID(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func (s *Server) cookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.SecureCookies,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds())})
}

// session returns the request's live session and its user, or nils; an
// expired session is ended, a used one is touched.
func (s *Server) session(r *http.Request) (*dashboard.Session, *dashboard.User) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	se, err := s.Store.Session(sessionID(c.Value))
	if err != nil {
		return nil, nil
	}
	now := s.Clock.Now()
	if se.Expired(now, s.idle()) {
		if err := s.Store.DeleteSession(se.ID); err != nil {
			s.Log.Error("expired session not deleted", "err", err) // refused all the same
		}
		return nil, nil
	}
	u, err := s.Store.User(se.User)
	if err != nil || u.Disabled {
		return nil, nil
	}
	if now.Sub(se.LastSeen) > min(time.Minute, s.idle()/2) { // at most one write a minute per console
		if err := s.Store.TouchSession(se.ID, now); err != nil {
			s.Log.Error("session not touched", "err", err) // it may expire early: a new login, nothing worse
		}
	}
	return se, u
}

func (s *Server) loginPage(w http.ResponseWriter, hr *http.Request) {
	r := &request{Request: hr, Lang: langOf(hr)}
	if n, err := s.Store.CountUsers(); err == nil && n == 0 {
		http.Redirect(w, hr, "/setup", http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *request, code int, msg string) {
	data := map[string]any{"Error": msg, "Next": safeNext(r.FormValue("next"))}
	if r.FormValue("changed") == "1" {
		data["Changed"] = tr(r.Lang, "password.changed")
	}
	if r.FormValue("created") == "1" {
		data["Changed"] = tr(r.Lang, "setup.created")
	}
	s.showForm(w, r, "login", code, data)
}

// showForm renders a form used before there is a session (login, setup)
// with a fresh double-submit token in a cookie and in the form.
func (s *Server) showForm(w http.ResponseWriter, r *request, page string, code int, data map[string]any) {
	tok := token()
	s.cookie(w, loginCookie, tok, 30*time.Minute)
	data["Token"] = tok
	w.WriteHeader(code)
	s.render(w, r, page, data)
}

// formTokenOK checks a pre-session form's double-submit token.
func formTokenOK(r *http.Request) bool {
	c, err := r.Cookie(loginCookie)
	form := r.PostFormValue("csrf")
	return err == nil && form != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) == 1
}

// safeNext keeps a redirect after login on this site.
func safeNext(next string) string {
	// Parsed, not pattern-matched: a browser drops tabs and newlines and
	// reads a backslash as a slash, so "/\t/evil.example/" or "/%5Cevil"
	// would be another host. Only a path of this site and its query are
	// kept, rebuilt from the parsed parts.
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	p := u.Path
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsFunc(p, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) {
		return "/"
	}
	// The query rebuilt too: a backslash or a control character in it is
	// harmless to a browser, but escaped it is plainly so (%5C).
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		q = nil
	}
	out := (&url.URL{Path: p, RawQuery: q.Encode()}).String()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		return "/"
	}
	return out
}

// dummyHash makes a login for an unknown user cost what a known one costs,
// so timing does not tell which names exist.
var (
	dummyOnce sync.Once
	dummyHash string
)

func (s *Server) login(w http.ResponseWriter, hr *http.Request) {
	r := &request{Request: hr, Lang: langOf(hr)}
	if err := sameOrigin(hr); err != nil {
		s.auditAs(hr, hr.PostFormValue("user"), "login.refused", "", "", "", "refused: "+err.Error())
		s.showLogin(w, r, http.StatusForbidden, tr(r.Lang, "err.csrf"))
		return
	}
	if !formTokenOK(hr) {
		s.auditAs(hr, hr.PostFormValue("user"), "login.refused", "", "", "", "refused: missing or wrong CSRF token")
		s.showLogin(w, r, http.StatusForbidden, tr(r.Lang, "err.csrf"))
		return
	}
	name, password := strings.TrimSpace(hr.PostFormValue("user")), hr.PostFormValue("password")
	if !s.allowLogin(hr) {
		s.auditAs(hr, name, "login.throttled", "", "", "", "refused: too many attempts from this address in a minute")
		s.showLogin(w, r, http.StatusTooManyRequests, tr(r.Lang, "err.throttled"))
		return
	}
	now := s.Clock.Now()
	u, err := s.Store.User(name)
	if err != nil {
		// The same check as for a known user, against a hash made once, so
		// the time does not tell which names exist.
		dummyOnce.Do(func() { dummyHash = dashboard.HashPassword(token(), s.Argon2) })
		if _, err := s.checkPassword(dummyHash, password); err != nil {
			s.showLogin(w, r, http.StatusServiceUnavailable, tr(r.Lang, "err.throttled"))
			return
		}
		s.auditAs(hr, name, "login.failed", "", "", "", "refused: no such user")
		s.showLogin(w, r, http.StatusUnauthorized, tr(r.Lang, "err.password"))
		return
	}
	addr := remoteAddr(hr)
	if until := u.LockedAt(addr, now); !until.IsZero() {
		s.auditAs(hr, name, "login.locked", "", "", "", "refused: locked at "+addr+" until "+until.Format(gateway.TimeFormat))
		s.showLogin(w, r, http.StatusForbidden, tr(r.Lang, "err.locked")+" "+until.In(now.Location()).Format("15:04"))
		return
	}
	matches, err := s.checkPassword(u.Hash, password)
	if err != nil {
		s.showLogin(w, r, http.StatusServiceUnavailable, tr(r.Lang, "err.throttled"))
		return
	}
	if u.Disabled || !matches {
		// Counted in the account's record, one step with its lock: the
		// lock holds at this address only (issue 27).
		var until time.Time
		var lasts time.Duration
		var failed int
		if _, err := s.Store.UpdateUser(name, func(u *dashboard.User) error {
			until, lasts = u.WrongPassword(addr, now)
			failed = u.Lockouts[addr].Failed
			return nil
		}); err != nil {
			s.fail(w, r, http.StatusInternalServerError, err.Error()) // an uncounted failure must not become a free guess
			return
		}
		if !until.IsZero() {
			s.auditAs(hr, name, "login.lockout", "", name, "", fmt.Sprintf("locked at %s for %v: %d wrong passwords", addr, lasts, failed))
			s.showLogin(w, r, http.StatusForbidden, tr(r.Lang, "err.locked")+" "+until.In(now.Location()).Format("15:04"))
			return
		}
		s.auditAs(hr, name, "login.failed", "", "", "", "refused: wrong password")
		s.showLogin(w, r, http.StatusUnauthorized, tr(r.Lang, "err.password"))
		return
	}
	// The success is counted in the same step that reads the lock: a lock
	// set meanwhile by wrong passwords sent at the same time stands, and
	// this login is refused (issue 19: a raced login cleared the lock).
	lockedMeanwhile := time.Time{}
	if _, err := s.Store.UpdateUser(name, func(u *dashboard.User) error {
		if !u.GoodPassword(addr, now) {
			lockedMeanwhile = u.LockedAt(addr, now)
		}
		return nil
	}); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	if !lockedMeanwhile.IsZero() {
		s.auditAs(hr, name, "login.locked", "", "", "", "refused: locked at "+addr+" until "+lockedMeanwhile.Format(gateway.TimeFormat))
		s.showLogin(w, r, http.StatusForbidden, tr(r.Lang, "err.locked")+" "+lockedMeanwhile.In(now.Location()).Format("15:04"))
		return
	}
	tok := token()
	if err := s.Store.CreateSession(dashboard.Session{ID: sessionID(tok), User: name, CSRF: token(), Created: now, LastSeen: now}); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.cookie(w, sessionCookie, tok, dashboard.SessionMax)
	s.cookie(w, loginCookie, "", -time.Second)
	s.auditAs(hr, name, "login", "", "", "", "ok")
	http.Redirect(w, hr, safeNext(hr.PostFormValue("next")), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *request) {
	if err := s.Store.DeleteSession(r.Session.ID); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error()) // the session would outlive the logout
		return
	}
	s.cookie(w, sessionCookie, "", -time.Second)
	s.auditf(r, "logout", "", "", "", "ok")
	http.Redirect(w, r.Request, "/login", http.StatusSeeOther)
}

// setupPage lets the holder of the first-run token create the first admin.
func (s *Server) setupPage(w http.ResponseWriter, hr *http.Request) {
	r := &request{Request: hr, Lang: langOf(hr)}
	if n, err := s.Store.CountUsers(); err != nil || n > 0 {
		http.Redirect(w, hr, "/login", http.StatusSeeOther)
		return
	}
	s.showSetup(w, r, http.StatusOK, "")
}

func (s *Server) showSetup(w http.ResponseWriter, r *request, code int, msg string) {
	s.showForm(w, r, "setup", code, map[string]any{"Setup": r.FormValue("token"), "Error": msg})
}

func (s *Server) setup(w http.ResponseWriter, hr *http.Request) {
	r := &request{Request: hr, Lang: langOf(hr)}
	if !formTokenOK(hr) {
		s.showSetup(w, r, http.StatusForbidden, tr(r.Lang, "err.csrf"))
		return
	}
	if s.SetupToken == "" || subtle.ConstantTimeCompare([]byte(hr.PostFormValue("token")), []byte(s.SetupToken)) != 1 {
		s.auditAs(hr, hr.PostFormValue("user"), "setup.refused", "", "", "", "refused: wrong setup token")
		s.showSetup(w, r, http.StatusForbidden, tr(r.Lang, "err.setup"))
		return
	}
	u, err := s.newUser(hr, "setup", dashboard.RoleAdmin)
	if err == nil {
		err = s.Store.CreateUser(*u, true)
	}
	s.auditAs(hr, "setup", "user.create", "", hr.PostFormValue("user"), "role admin (first account)", result(err))
	if err != nil {
		s.showSetup(w, r, http.StatusBadRequest, err.Error())
		return
	}
	s.SetupToken = ""
	http.Redirect(w, hr, "/login?created=1", http.StatusSeeOther) // said on the login page (issue 28)
}

// newUser reads an account from a form: user, display, password, password2.
func (s *Server) newUser(r *http.Request, by string, role dashboard.Role) (*dashboard.User, error) {
	name := strings.TrimSpace(r.PostFormValue("user"))
	if err := dashboard.CheckUserName(name); err != nil {
		return nil, err
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		return nil, gateway.Errorf(gateway.EINVALID, "password: the two entries differ")
	}
	if err := dashboard.CheckNewPassword(name, pw); err != nil {
		return nil, err
	}
	display := strings.TrimSpace(r.PostFormValue("display"))
	if display == "" {
		display = name
	}
	person, err := dashboard.CheckPerson(r.PostFormValue("person"))
	if err != nil {
		return nil, err
	}
	return &dashboard.User{Name: name, Display: display, Role: role, Hash: dashboard.HashPassword(pw, s.Argon2),
		Created: s.Clock.Now(), CreatedBy: by, Person: person}, nil
}

func (s *Server) lang(w http.ResponseWriter, r *http.Request) {
	l := r.FormValue("to")
	if l != "en" {
		l = "zh"
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteStrictMode, Secure: s.SecureCookies})
	back := "/"
	if ref := r.Header.Get("Referer"); ref != "" {
		if i := strings.Index(ref, r.Host); i >= 0 {
			back = safeNext(ref[i+len(r.Host):])
		}
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func langOf(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "en" {
		return "en"
	}
	return "zh"
}

// passwordPage lets a user change their own password.
func (s *Server) passwordPage(w http.ResponseWriter, r *request) {
	s.render(w, r, "password", map[string]any{"Error": r.URL.Query().Get("error")})
}

// changePassword checks the current password (with the login's bound on
// argon2id checks), takes a new one that passes the rules, ends every
// session of the account, this one too, and sends its owner to log in
// with it.
func (s *Server) changePassword(w http.ResponseWriter, r *request) {
	name := r.User.Name
	pw := r.PostFormValue("password")
	err := func() error {
		if err := s.accountsHere(r.Lang); err != nil {
			return err
		}
		ok, err := s.checkPassword(r.User.Hash, r.PostFormValue("old"))
		if err != nil {
			return err
		}
		if !ok {
			return gateway.Errorf(gateway.EINVALID, "%s", tr(r.Lang, "err.old_password"))
		}
		if pw != r.PostFormValue("password2") {
			return gateway.Errorf(gateway.EINVALID, "password: the two entries differ")
		}
		if pw == r.PostFormValue("old") {
			return gateway.Errorf(gateway.EINVALID, "password: the new one is the current one")
		}
		if err := dashboard.CheckNewPassword(name, pw); err != nil {
			return err
		}
		_, err = s.Store.UpdateUser(name, func(u *dashboard.User) error {
			u.Hash, u.MustChange = dashboard.HashPassword(pw, s.Argon2), false
			return nil
		})
		return err
	}()
	s.auditf(r, "user.password", "", name, "", result(err))
	if err != nil {
		http.Redirect(w, r.Request, "/password?"+url.Values{"error": {err.Error()}}.Encode(), http.StatusSeeOther)
		return
	}
	s.cookie(w, sessionCookie, "", -time.Second)
	http.Redirect(w, r.Request, "/login?"+url.Values{"changed": {"1"}}.Encode(), http.StatusSeeOther)
}
