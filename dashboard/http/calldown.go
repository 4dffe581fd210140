package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// The call-down of each room (issue 20, item 1): who is told of which
// alarms, as the room holds it (its retained calldown), and edited here by
// a security officer: the edit goes to the room as calldown/replace, which
// holds it to the same rule as its config.

// calldownView is a room's call-down as the page shows it.
type calldownView struct {
	Room      string
	Version   int64                 `json:"version"`
	Source    string                `json:"source"`
	UpdatedAt string                `json:"updated_at"`
	UpdatedBy string                `json:"updated_by"`
	People    []wire.CalldownPerson `json:"people"`
	Rules     []wire.CalldownRule   `json:"calldown"`
	YAML      string
}

// Who names the people of a step, as the list calls them.
func (v calldownView) Who(ids []string) string {
	names := map[string]string{}
	for _, p := range v.People {
		names[p.ID] = p.Name
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		if names[id] != "" {
			out[i] = names[id]
		}
	}
	return strings.Join(out, "、")
}

// When says when a step comes, in lang.
func (v calldownView) When(lang, after string) string {
	d, err := time.ParseDuration(after)
	switch {
	case err != nil:
		return after
	case d == 0:
		return tr(lang, "calldown.at_once")
	case lang == "en":
		return "after " + d.String()
	case d%time.Minute == 0:
		return fmt.Sprintf("%d分钟后", int(d.Minutes()))
	}
	return fmt.Sprintf("%d秒后", int(d.Seconds()))
}

// Channels names a step's channels (default sms), in lang.
func (v calldownView) Channels(lang string, channels []string) string {
	if len(channels) == 0 {
		channels = []string{"sms"}
	}
	out := make([]string, len(channels))
	for i, c := range channels {
		out[i] = tr(lang, "channel."+c)
	}
	return strings.Join(out, "、")
}

func (s *Server) calldownViews() ([]calldownView, error) {
	list, err := s.Store.Retained("", "calldown")
	if err != nil {
		return nil, err
	}
	var out []calldownView
	for _, r := range list {
		v := calldownView{Room: r.Room}
		if err := json.Unmarshal(r.Payload, &v); err != nil {
			s.Log.Warn("retained call-down unreadable: left out", "room", r.Room, "err", err)
			continue
		}
		v.YAML = calldownYAML(wire.Calldown{People: v.People, Rules: v.Rules})
		out = append(out, v)
	}
	return out, nil
}

// calldownYAML is a list as an officer edits it: the shape of the config's
// notify section.
func calldownYAML(l wire.Calldown) string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	var y yamlList
	if b, err := json.Marshal(l); err != nil || json.Unmarshal(b, &y) != nil {
		return ""
	}
	if err := enc.Encode(y); err != nil {
		return ""
	}
	return b.String()
}

// yamlList is wire.Calldown with the config's field names.
type yamlList struct {
	People []struct {
		ID    string `yaml:"id" json:"id"`
		Name  string `yaml:"name,omitempty" json:"name,omitempty"`
		Phone string `yaml:"phone,omitempty" json:"phone,omitempty"`
		Email string `yaml:"email,omitempty" json:"email,omitempty"`
	} `yaml:"people" json:"people"`
	Calldown []struct {
		Classes     []string `yaml:"classes,omitempty,flow" json:"classes,omitempty"`
		MaxPriority int      `yaml:"max_priority,omitempty" json:"max_priority,omitempty"`
		Steps       []struct {
			After    string   `yaml:"after" json:"after"`
			People   []string `yaml:"people,flow" json:"people"`
			Channels []string `yaml:"channels,omitempty,flow" json:"channels,omitempty"`
		} `yaml:"steps" json:"steps"`
	} `yaml:"calldown" json:"calldown"`
}

func (s *Server) calldowns(w http.ResponseWriter, r *request) {
	views, err := s.calldownViews()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	// The rooms that said no call-down: where to start one (issue 28: the
	// page said only 无).
	watched, err := s.Store.WatchedRooms()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	has := map[string]bool{}
	for _, v := range views {
		has[v.Room] = true
	}
	var without []string
	for _, w := range watched {
		if !has[w.Room] {
			without = append(without, w.Room)
		}
	}
	s.render(w, r, "calldown", map[string]any{"Rooms": views, "Without": without, "Error": r.URL.Query().Get("error"), "Room": r.URL.Query().Get("room")})
}

// readCalldown reads the edited list: YAML of the config's shape, every
// field known.
func readCalldown(text string) (wire.Calldown, error) {
	var y yamlList
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&y); err != nil {
		return wire.Calldown{}, gateway.Errorf(gateway.EINVALID, "the call-down: %v", err)
	}
	b, err := json.Marshal(y)
	if err != nil {
		return wire.Calldown{}, err
	}
	var l wire.Calldown
	if err := json.Unmarshal(b, &l); err != nil {
		return wire.Calldown{}, err
	}
	if l.People == nil { // none: the room says which step names whom it does not know
		l.People = []wire.CalldownPerson{}
	}
	if l.Rules == nil {
		return wire.Calldown{}, gateway.Errorf(gateway.EINVALID, "the call-down: no lists (calldown:)")
	}
	return l, nil
}

// replaceCalldown sends an officer's edit to the room, as the version after
// the one it holds; the room checks it and answers.
func (s *Server) replaceCalldown(w http.ResponseWriter, r *request) {
	room := r.PathValue("room")
	text := r.PostFormValue("calldown")
	l, err := readCalldown(text)
	var version int64
	if err == nil {
		views, verr := s.calldownViews()
		if verr != nil {
			err = verr
		}
		for _, v := range views {
			if v.Room == room {
				version = v.Version + 1
			}
		}
		if err == nil && version == 0 {
			err = gateway.Errorf(gateway.ENOTFOUND, "room %s has no call-down (its config has no notify: section)", room)
		}
	}
	if err == nil {
		_, err = s.call(r, "calldown.replace", room, fmt.Sprintf("version %d", version), "calldown/replace",
			map[string]any{"version": version, "people": l.People, "calldown": l.Rules}, fmt.Sprintf("%d people, %d lists", len(l.People), len(l.Rules)))
	} else {
		s.auditf(r, "calldown.replace", room, "", "", result(err))
	}
	back(w, r, "/calldown?room="+url.QueryEscape(room), err)
}
