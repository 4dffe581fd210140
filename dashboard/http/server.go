// Package http serves the guard console: the pages, the live stream and the
// forms that become commands to the rooms. Every asset is embedded: the
// guard LAN has no internet.
package http

import (
	"cmp"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
)

//go:embed assets
var assets embed.FS

// Rooms carries commands to the rooms (dashboard/mqtt.Link).
type Rooms interface {
	Call(ctx context.Context, room, name string, args map[string]any) (map[string]any, error)
	Connected() bool
	// PinKey makes key the one room is verified against (issue 18).
	PinKey(room, key, by string) error
}

// Peers is what the console knows of its peer consoles (two consoles on
// one broker: dashboard/mqtt.PeerLink).
type Peers interface {
	States() []dashboard.PeerState
	// AccountsFrom is the peer that is the accounts' primary ("" : this
	// console is).
	AccountsFrom() string
}

// Server is the console's web server.
type Server struct {
	Store  *sqlite.Store
	Rooms  Rooms
	Clock  gateway.Clock
	Log    *slog.Logger
	Argon2 dashboard.Argon2Params
	// SecureCookies marks cookies Secure: on when the console is served over
	// TLS, by itself or behind a proxy.
	SecureCookies bool
	// SetupToken, while no account exists, is the one-time secret in the
	// first-run URL that lets its holder create the first admin.
	SetupToken string
	Hub        *Hub
	// Zone is where the console shows and reads times (default the clock's).
	Zone *time.Location
	// MaxPasswordChecks bounds the argon2id checks that run at once (each
	// takes its memory: 64 MiB by default); other logins wait their turn,
	// up to PasswordWait. Default 2.
	MaxPasswordChecks int
	PasswordWait      time.Duration // default 10 s
	// LoginsPerMinute is how many login attempts one address gets a minute
	// (the rest are refused unread). Default 20.
	LoginsPerMinute int
	// LiveBeat is how often the live stream beats and checks its session
	// is still good (default 15 s).
	LiveBeat time.Duration
	// SessionIdle is how long an idle session stays logged in (default
	// dashboard.SessionIdle, 30 min); a duty session ignores it.
	SessionIdle time.Duration
	// KeyAge: a safe's combination or a door's key older than this is due
	// to be changed (default dashboard.KeyAge, a year).
	KeyAge time.Duration
	// Unit is the office's name, in the title of its printed registers.
	Unit string
	// InspectEvery: a room with no inspection recorded for this long is
	// due one (default dashboard.InspectEvery, 30 days).
	InspectEvery time.Duration
	// Peers, when set: the peer consoles, shown when one is offline or
	// this one's live stream is lost; with an accounts' primary among
	// them, accounts are changed there only.
	Peers Peers

	checks     chan struct{} // the password checks running
	initChecks sync.Once
	running    atomic.Int64
	peak       atomic.Int64
	limitMu    sync.Mutex
	attempts   map[string][]time.Time // per address, the attempts of the last minute
	peopleMu   sync.Mutex
	peopleOf   peopleCache // the personnel register's names (names.go)

	pages map[string]*template.Template
	mux   *http.ServeMux
}

// Init parses the templates and builds the routes.
func (s *Server) Init() error {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Argon2 == (dashboard.Argon2Params{}) {
		s.Argon2 = dashboard.DefaultArgon2
	}
	if s.Hub == nil {
		s.Hub = NewHub()
	}
	if s.MaxPasswordChecks <= 0 {
		s.MaxPasswordChecks = 2
	}
	if s.PasswordWait <= 0 {
		s.PasswordWait = 10 * time.Second
	}
	if s.LoginsPerMinute <= 0 {
		s.LoginsPerMinute = 20
	}
	s.attempts = map[string][]time.Time{}
	if err := s.parse(); err != nil {
		return err
	}
	static, _ := fs.Sub(assets, "assets/static")
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("GET /setup", s.setupPage)
	m.HandleFunc("POST /setup", s.setup)
	m.HandleFunc("GET /lang", s.lang)
	// for a person, a load balancer and the watchdog (issue 32): no login
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	m.Handle("POST /logout", s.may(dashboard.ActView, s.logout))
	m.Handle("GET /{$}", s.may(dashboard.ActView, s.overview))
	m.Handle("GET /alarms", s.may(dashboard.ActView, s.alarms))
	m.Handle("POST /alarms/ack", s.may(dashboard.ActAck, s.ack))
	m.Handle("GET /rooms/{room}", s.may(dashboard.ActView, s.room))
	m.Handle("GET /rooms/{room}/box", s.may(dashboard.ActView, s.roomBox))
	m.Handle("POST /rooms/{room}/key", s.may(dashboard.ActRoomKeys, s.pinKey))
	m.Handle("POST /rooms", s.may(dashboard.ActRoomKeys, s.addRoom))
	m.Handle("GET /entries", s.may(dashboard.ActView, s.entries))
	m.Handle("GET /entries.csv", s.may(dashboard.ActView, s.entriesCSV))
	m.Handle("GET /visitors", s.may(dashboard.ActView, s.visitors))
	m.Handle("POST /visitors", s.may(dashboard.ActVisitors, s.registerVisitor))
	m.Handle("POST /visitors/checkout", s.may(dashboard.ActVisitors, s.checkOutVisitor))
	// maintenance visits (维修): asked for and closed by the office; the
	// leader's approval is theirs (the room checks who), so whoever may act
	// on alarms may send it
	m.Handle("POST /maintenance/{what}", s.may(dashboard.ActAck, s.maintenanceForm))
	// findings (整改): opened by whoever inspects (an auditor too), put
	// right and closed by others
	m.Handle("POST /findings/{what}", s.may(dashboard.ActView, s.findingForm))
	m.Handle("GET /ledgers/{kind}", s.may(dashboard.ActView, s.ledgerPage))
	m.Handle("POST /inspections", s.may(dashboard.ActView, s.recordInspection))
	m.Handle("GET /registers", s.may(dashboard.ActView, s.registers))
	m.Handle("POST /registers/{kind}", s.may(dashboard.ActRegisters, s.saveRegister))
	m.Handle("POST /registers/{kind}/sync", s.may(dashboard.ActRegisters, s.syncRegister))
	m.Handle("POST /rooms/{room}/{what}", s.may(dashboard.ActSeal, s.modeCommand))
	m.Handle("GET /carriers", s.may(dashboard.ActView, s.carriers))
	m.Handle("GET /carriers/inventory/{room}/{id}", s.may(dashboard.ActView, s.inventoryPage))
	m.Handle("POST /carriers/{what}", s.may(dashboard.ActCarriers, s.carrierCommand))
	// a person's own confirmation of a step naming them (a witness, a
	// reader): whoever may act on alarms; the room checks they are named
	m.Handle("POST /carriers/confirm", s.may(dashboard.ActAck, s.carrierConfirm))
	m.Handle("GET /carriers/{room}/{id}", s.may(dashboard.ActView, s.carrierPage))
	m.Handle("GET /carriers/destruction/{room}/{list}", s.may(dashboard.ActView, s.destructionList))
	m.Handle("GET /seals", s.may(dashboard.ActView, s.seals))
	m.Handle("GET /seals/{room}/{id}", s.may(dashboard.ActView, s.sealReport))
	m.Handle("POST /seals/{op}", s.may(dashboard.ActSeal, s.sealStep))
	m.Handle("GET /inspection", s.may(dashboard.ActView, s.inspection))
	m.Handle("GET /audit", s.may(dashboard.ActView, s.audit))
	m.Handle("GET /users", s.may(dashboard.ActUsers, s.users))
	m.Handle("POST /users", s.may(dashboard.ActUsers, s.createUser))
	m.Handle("POST /users/change", s.may(dashboard.ActUsers, s.changeUser))
	m.Handle("GET /live", s.may(dashboard.ActView, s.live))
	m.Handle("GET /duty", s.may(dashboard.ActView, s.duty))
	m.Handle("GET /calldown", s.may(dashboard.ActView, s.calldowns))
	m.Handle("POST /calldown/{room}", s.may(dashboard.ActRegisters, s.replaceCalldown))
	m.Handle("POST /duty/start", s.may(dashboard.ActAck, s.startDuty))
	m.Handle("GET /handover", s.may(dashboard.ActView, s.handovers))
	m.Handle("POST /handover", s.may(dashboard.ActAck, s.handOver))
	m.Handle("POST /handover/{n}/take", s.may(dashboard.ActAck, s.takeOver))
	m.Handle("GET /handover/{n}", s.may(dashboard.ActView, s.handoverReport))
	m.Handle("GET /password", s.may(dashboard.ActView, s.passwordPage))
	m.Handle("POST /password", s.may(dashboard.ActView, s.changePassword))
	s.mux = m
	return nil
}

// ServeHTTP adds the security headers every answer carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Type", "text/html; charset=utf-8") // the CSV and the live stream set their own
	}
	s.mux.ServeHTTP(w, r)
}

// request is what a handler knows of who asks.
type request struct {
	*http.Request
	User    *dashboard.User
	Session *dashboard.Session
	Lang    string
	// StateV is the store's retained version when the request came, before
	// the page read anything: its live stream starts with a refresh when
	// the state changed since.
	StateV int64
	// names says ids as names for what the request answers (a refusal's
	// devices); nil before a session.
	names *names
}

type handler func(w http.ResponseWriter, r *request)

// may runs h for a logged-in user whose role allows act; a POST must carry
// the session's CSRF token and come from this site.
func (s *Server) may(act dashboard.Action, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		r := &request{Request: hr, Lang: langOf(hr), StateV: s.Store.RetainedVersion()}
		r.names = s.names(r.Lang)
		if n, err := s.Store.CountUsers(); err == nil && n == 0 {
			http.Redirect(w, hr, "/setup", http.StatusSeeOther)
			return
		}
		se, u := s.session(hr)
		if u == nil {
			if hr.Method == http.MethodGet && hr.URL.Path != "/live" {
				http.Redirect(w, hr, "/login?next="+template.URLQueryEscaper(hr.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, http.StatusUnauthorized, tr(r.Lang, "err.login"))
			return
		}
		r.User, r.Session = u, se
		if u.MustChange && hr.URL.Path != "/password" && hr.URL.Path != "/logout" {
			// A password an admin reset: nothing else until its owner
			// has changed it.
			if hr.Method == http.MethodGet && hr.URL.Path != "/live" {
				http.Redirect(w, hr, "/password", http.StatusSeeOther)
				return
			}
			s.fail(w, r, http.StatusForbidden, tr(r.Lang, "err.must_change"))
			return
		}
		if hr.Method == http.MethodPost {
			hr.Body = http.MaxBytesReader(w, hr.Body, maxRegister)
			if err := s.checkCSRF(hr, se.CSRF); err != nil {
				s.auditf(r, "csrf.refused", "", hr.URL.Path, "", "refused: "+err.Error())
				s.fail(w, r, http.StatusForbidden, tr(r.Lang, "err.csrf"))
				return
			}
		}
		if !u.Role.May(act) {
			if hr.Method == http.MethodPost {
				s.auditf(r, "forbidden", "", hr.URL.Path, string(act), "refused: role "+string(u.Role))
			}
			s.fail(w, r, http.StatusForbidden, fmt.Sprintf(tr(r.Lang, "err.role"), tr(r.Lang, "role."+string(u.Role))))
			return
		}
		h(w, r)
	})
}

// checkCSRF accepts a post whose token matches the session's and that does
// not come from another site.
func (s *Server) checkCSRF(r *http.Request, want string) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errors.New("missing or wrong CSRF token")
	}
	return nil
}

// sameOrigin refuses a post from another site: one a browser says is
// cross-site, one from another origin, one from origin "null" (a sandboxed
// frame, a file, a redirect through another site), and one a browser sent
// (it says Sec-Fetch-Site) without an Origin, which every browser sends
// with a post. A client that is not a browser sends neither header; its
// token decides.
func sameOrigin(r *http.Request) error {
	site, o := r.Header.Get("Sec-Fetch-Site"), r.Header.Get("Origin")
	if site != "" && site != "same-origin" && site != "none" {
		return fmt.Errorf("cross-site post (%s)", site)
	}
	switch {
	case o == "null":
		return errors.New("post from origin null")
	case o == "" && site != "":
		return errors.New("a browser's post without an Origin")
	case o != "":
		host := strings.TrimPrefix(strings.TrimPrefix(o, "https://"), "http://")
		if host != r.Host {
			return fmt.Errorf("post from origin %s", o)
		}
	}
	return nil
}

// idle is how long an idle session stays logged in.
func (s *Server) idle() time.Duration {
	if s.SessionIdle > 0 {
		return s.SessionIdle
	}
	return dashboard.SessionIdle
}

// auditf records an operator action.
func (s *Server) auditf(r *request, action, room, target, detail, result string) {
	user := ""
	if r.User != nil {
		user = r.User.Name
	}
	s.auditAs(r.Request, user, action, room, target, detail, result)
}

func (s *Server) auditAs(r *http.Request, user, action, room, target, detail, result string) {
	remote, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		remote = r.RemoteAddr
	}
	a := dashboard.AuditEntry{At: s.Clock.Now(), User: user, Action: action, Room: room, Target: target, Detail: detail, Result: result, Remote: remote}
	if err := s.Store.Audit(a); err != nil {
		s.Log.Error("audit log", "err", err, "entry", a.String())
	}
}

// accountsHere refuses a change of the accounts at a console that keeps
// them as its primary says (what a console changes of its own: unlocking
// an account locked here, its logins).
func (s *Server) accountsHere(lang string) error {
	if s.Peers == nil || s.Peers.AccountsFrom() == "" {
		return nil
	}
	return gateway.Errorf(gateway.ECONFLICT, tr(lang, "err.accounts_elsewhere"), s.Peers.AccountsFrom())
}

// result is how an audit entry records err.
func result(err error) string {
	if err == nil {
		return "ok"
	}
	return "refused: " + err.Error()
}

// fail answers with an error page.
func (s *Server) fail(w http.ResponseWriter, r *request, code int, msg string) {
	w.WriteHeader(code)
	s.render(w, r, "error", map[string]any{"Code": code, "Message": msg})
}

// callTimeout bounds how long a form waits for a room's reply.
const callTimeout = 10 * time.Second

// call sends a command to a room for the logged-in user and records it.
func (s *Server) call(r *request, action, room, target, name string, args map[string]any, detail string) (map[string]any, error) {
	args["by"] = cmp.Or(r.User.Person, r.User.Name) // the person the account acts for
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	res, err := s.Rooms.Call(ctx, room, name, args)
	s.auditf(r, action, room, target, detail, result(err))
	return res, err
}

// healthz says the console answers.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.deliver(w, "healthz", []byte("ok\n"))
}

// readyz says whether the console can do its work: its database reads,
// its link to the broker is up; 503 naming what is wrong otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{"database": "ok", "broker": "ok"}
	if _, err := s.Store.LastN(); err != nil {
		checks["database"] = err.Error()
	}
	if s.Rooms == nil || !s.Rooms.Connected() {
		checks["broker"] = "the link to the broker is down"
	}
	ready := checks["database"] == "ok" && checks["broker"] == "ok"
	w.Header().Set("Content-Type", "application/json")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	b, err := json.Marshal(map[string]any{"ready": ready, "checks": checks})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.deliver(w, "readyz", append(b, '\n'))
}
