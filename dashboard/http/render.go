package http

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// parse reads every page template with the layout.
func (s *Server) parse() error {
	funcs := template.FuncMap{
		"tr": tr,
		// word of a template takes any machine word: a string, or a typed
		// one of the room's (an alarm's gateway.AlarmClass).
		"word":  func(lang, vocab string, w any) string { return word(lang, vocab, fmt.Sprint(w)) },
		"since": func(lang string, t time.Time) string { return age(lang, s.Clock.Now().Sub(t)) },
		"clock": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(s.zone()).Format("2006-01-02 15:04:05")
		},
		"may": func(u *dashboard.User, act string) bool { return u != nil && u.Role.May(dashboard.Action(act)) },
		// with: a part given the page and one thing of it (.P, .V)
		"with2": func(p, v any) map[string]any { return map[string]any{"P": p, "V": v} },
		"join":  strings.Join,
		"fingerprint": func(key string) string {
			k, err := gateway.ParsePublicKey(key)
			if err != nil {
				return "?"
			}
			return gateway.KeyFingerprint(k)
		},
		"duration": duration,
		"prio":     prio,
		// people are the register's people (else those the rooms named at
		// their doors), for a form's list to pick a person by name (issue 28).
		"people": s.peopleChoices,
		// sealNo says a seal's id (its time in UTC: room-seal-20261207T091240.389)
		// as the console's local time of the seal (issue 28); the id stays in
		// the page's title attribute.
		"sealNo": func(id string) string {
			_, at, ok := strings.Cut(id, "-seal-")
			if !ok {
				return id
			}
			t, err := time.ParseInLocation("20060102T150405.000", at, time.UTC)
			if err != nil {
				return id
			}
			return t.In(s.zone()).Format("2006-01-02 15:04:05")
		},
		// auditAction and auditResult say the audit log's machine words.
		"auditAction": func(lang, a string) string {
			if _, ok := messages["act."+a]; ok {
				return tr(lang, "act."+a)
			}
			return a
		},
		"auditResult": func(lang, res string) string {
			if res == "ok" {
				return tr(lang, "result.ok")
			}
			if rest, ok := strings.CutPrefix(res, "refused: "); ok {
				return tr(lang, "result.refused") + rest
			}
			return res
		},
		// unknownRooms is the traffic for room ids nobody added, by id
		// (issue 27): what the link counted instead of showing.
		"unknownRooms": func() map[string]uint64 {
			if u, ok := s.Rooms.(interface{ Unknown() map[string]uint64 }); ok {
				return u.Unknown()
			}
			return nil
		},
		// stamp shows a time the rooms wrote as text (RFC 3339) in the
		// console's zone; what does not parse is shown as it is.
		"stamp": s.stamp,
		"inc":   func(i int) int { return i + 1 },
		"day": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(s.zone()).Format("2006-01-02")
		},
	}
	layout, err := fs.ReadFile(assets, "assets/templates/layout.html")
	if err != nil {
		return err
	}
	pages, err := fs.Glob(assets, "assets/templates/*.html")
	if err != nil {
		return err
	}
	// a file whose name starts with part- holds parts every page may use
	var parts []string
	for _, p := range pages {
		if strings.HasPrefix(p[len("assets/templates/"):], "part-") {
			b, err := fs.ReadFile(assets, p)
			if err != nil {
				return err
			}
			parts = append(parts, string(b))
		}
	}
	s.pages = map[string]*template.Template{}
	for _, p := range pages {
		name := strings.TrimSuffix(p[len("assets/templates/"):], ".html")
		if name == "layout" || strings.HasPrefix(name, "part-") {
			continue
		}
		body, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		t, err := template.New("layout").Funcs(funcs).Parse(string(layout))
		if err != nil {
			return fmt.Errorf("http: layout: %w", err)
		}
		for _, part := range parts {
			if _, err := t.Parse(part); err != nil {
				return fmt.Errorf("http: a part: %w", err)
			}
		}
		if _, err := t.Parse(string(body)); err != nil {
			return fmt.Errorf("http: %s: %w", p, err)
		}
		s.pages[name] = t
	}
	return nil
}

// zone is where the console shows times: the zone of the clock.
func (s *Server) zone() *time.Location {
	if s.Zone != nil {
		return s.Zone
	}
	return s.Clock.Now().Location()
}

// stamp shows a time the rooms wrote as text (RFC 3339) in the console's
// zone; what does not parse is shown as it is.
func (s *Server) stamp(v string) string {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return v
	}
	return t.In(s.zone()).Format("2006-01-02 15:04:05")
}

// unitWords are the units a length of time is said in: 1分26秒, not
// 1m26s, to a Chinese reader (issue 28).
type unitWords struct{ hour, min, sec, days string }

func timeWords(lang string) unitWords {
	if lang == "en" {
		return unitWords{"h", "m", "s", " days"}
	}
	return unitWords{"小时", "分", "秒", "天"}
}

// age says how long ago, shortly.
func age(lang string, d time.Duration) string {
	d = d.Round(time.Second)
	w := timeWords(lang)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d%s", int(d.Seconds()), w.sec)
	case d < time.Hour:
		return fmt.Sprintf("%d%s%02d%s", int(d.Minutes()), w.min, int(d.Seconds())%60, w.sec)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d%s%02d%s", int(d.Hours()), w.hour, int(d.Minutes())%60, w.min)
	}
	return fmt.Sprintf("%d%s", int(d.Hours()/24), w.days)
}

// prio says an alarm's priority: 一级 … in Chinese, P1 … in English (issue
// 28: "P3" is a machine word to a Chinese reader).
func prio(lang string, p int) string {
	if lang == "en" {
		return fmt.Sprintf("P%d", p)
	}
	if w := map[int]string{1: "一级", 2: "二级", 3: "三级", 4: "四级", 5: "五级"}[p]; w != "" {
		return w
	}
	return fmt.Sprintf("%d级", p)
}

// page is what every page template gets.
type page struct {
	Lang      string
	User      *dashboard.User
	CSRF      string
	Path      string
	Title     string
	Flash     string
	Error     string
	Connected bool
	OpenAlarm int
	LastN     int64
	StateV    int64
	// Report: a printable report, which stays as it was made (the live
	// stream does not re-read it).
	Report bool
	Data   any
	// Names shows ids by name and machine words in Lang.
	Names *names
	// Peers: the peer consoles (two consoles on one broker).
	Peers []dashboard.PeerState
}

// render writes a page. data is either a map (for the pages outside the
// login) or the page's own data.
func (s *Server) render(w http.ResponseWriter, r *request, name string, data any) {
	t := s.pages[name]
	if t == nil {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	p := page{Lang: r.Lang, User: r.User, Path: r.URL.Path, Data: data, Connected: s.Rooms == nil || s.Rooms.Connected(),
		Report: name == "inspection" || name == "seal" || name == "inventory" || name == "handoverreport" || name == "destruction" || name == "carrier", Names: s.names(r.Lang)}
	if s.Peers != nil {
		p.Peers = s.Peers.States()
	}
	if r.Session != nil {
		p.CSRF = r.Session.CSRF
		if as, err := s.Store.Retained("", "alarms"); err == nil {
			p.OpenAlarm = len(as)
		}
		p.LastN, _ = s.Store.LastN()
		p.StateV = r.StateV
	}
	if f := r.URL.Query().Get("done"); f != "" {
		p.Flash = tr(r.Lang, "done")
	}
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		s.Log.Error("render", "page", name, "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	s.deliver(w, name, b.Bytes())
}

// deliver writes a response's body; a write that fails is the browser gone
// away: logged, nothing else to do.
func (s *Server) deliver(w http.ResponseWriter, what string, body []byte) {
	if _, err := w.Write(body); err != nil {
		s.Log.Debug("response not delivered", "what", what, "err", err)
	}
}
