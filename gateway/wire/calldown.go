package wire

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Critical are the alarm classes that always reach at least two people.
var Critical = []gateway.AlarmClass{gateway.AlarmIntrusion, gateway.AlarmSealBroken, gateway.AlarmCarrierRemoval,
	gateway.AlarmTamper, gateway.AlarmForgery, gateway.AlarmLogTampered}

// Calldown is who is told of which alarms: the people and the call-down lists.
// The room's config holds one (notify.people, notify.calldown); its
// security officer may replace it from a console (calldown/replace), and
// the newest stands. The channels themselves (the modem, the mail server,
// the group robots and their secrets) stay in the config.
type Calldown struct {
	People []CalldownPerson `json:"people"`
	Rules  []CalldownRule   `json:"calldown"`
}

// CalldownPerson is someone the call-down reaches. Webhook (not in a command:
// a group robot's URL and secret stay in the config) tells whether the
// person has one.
type CalldownPerson struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Email   string `json:"email,omitempty"`
	Webhook bool   `json:"-"`
}

// CalldownRule is one call-down list: the alarms it matches (by class, or by
// priority; neither: every alarm) and its steps. The same rule is read from
// a room's config (notify.calldown, YAML) and from a console's
// calldown/replace (JSON); Check holds both to one rule.
type CalldownRule struct {
	Classes     []string       `json:"classes,omitempty" yaml:"classes"`
	MaxPriority int            `json:"max_priority,omitempty" yaml:"max_priority"`
	Steps       []CalldownStep `json:"steps" yaml:"steps"`
}

// CalldownStep is one rung: after (a Go duration, "0s", "1m"), these people,
// by these channels (default sms).
type CalldownStep struct {
	After    string   `json:"after" yaml:"after"`
	People   []string `json:"people" yaml:"people"`
	Channels []string `json:"channels,omitempty" yaml:"channels"`
}

// Problem is one thing wrong with a list, at a path of its fields
// ("calldown", "0", "steps", "1", "people", "0").
type Problem struct {
	Path []string
	Msg  string
}

func (p Problem) Error() string {
	if len(p.Path) == 0 {
		return p.Msg
	}
	path := p.Path[0]
	for _, f := range p.Path[1:] {
		if _, err := strconv.Atoi(f); err == nil {
			path += "[" + f + "]"
		} else {
			path += "." + f
		}
	}
	return path + ": " + p.Msg
}

// Means says which channels the room has: SMS and calls need its modem,
// e-mail its mail server.
type Means struct{ Modem, SMTP bool }

// Channel names.
var ChannelNames = []string{"sms", "call", "email", "webhook"}

// Check is the one rule of a call-down, for the config and for a console's
// edit alike: every person once, every class an alarm class, every step's
// people listed, steps in time order, every channel one the room has and
// the person can be reached by, and every critical class brought to at
// least two people.
func (l Calldown) Check(ch Means) []Problem {
	var out []Problem
	bad := func(path []string, format string, args ...any) {
		out = append(out, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	people := map[string]CalldownPerson{}
	for i, p := range l.People {
		at := []string{"people", strconv.Itoa(i)}
		if p.ID == "" {
			bad(append(at, "id"), "a person needs an id")
		}
		if _, dup := people[p.ID]; dup {
			bad(append(at, "id"), "person %q is listed twice", p.ID)
		}
		people[p.ID] = p
	}
	for i, r := range l.Rules {
		at := func(f ...string) []string { return append([]string{"calldown", strconv.Itoa(i)}, f...) }
		for j, class := range r.Classes {
			if _, ok := gateway.AlarmClass(class).Spec(); !ok {
				bad(at("classes", strconv.Itoa(j)), "%q is not an alarm class", class)
			}
		}
		if r.MaxPriority < 0 || r.MaxPriority > 5 {
			bad(at("max_priority"), "%d is not a priority (1 to 5; 0: any)", r.MaxPriority)
		}
		if len(r.Steps) == 0 {
			bad(at("steps"), "a call-down list needs at least one step")
		}
		var prev time.Duration
		for j, s := range r.Steps {
			after, err := time.ParseDuration(s.After)
			switch {
			case err != nil:
				bad(at("steps", strconv.Itoa(j), "after"), "%q is not a duration (e.g. 0s, 1m, 3m)", s.After)
			case after < 0 || after > 24*time.Hour:
				bad(at("steps", strconv.Itoa(j), "after"), "%s is out of bounds (0 to 24h)", after)
			case j > 0 && after < prev:
				bad(at("steps", strconv.Itoa(j), "after"), "%s comes before the step above it (%s)", after, prev)
			}
			prev = after
			if len(s.People) == 0 {
				bad(at("steps", strconv.Itoa(j), "people"), "a step needs at least one person")
			}
			for k, id := range s.People {
				if _, ok := people[id]; !ok {
					bad(at("steps", strconv.Itoa(j), "people", strconv.Itoa(k)), "%q is not one of the people", id)
				}
			}
			channels := s.Channels
			if len(channels) == 0 {
				channels = []string{"sms"}
			}
			for _, c := range channels {
				switch {
				case !slices.Contains(ChannelNames, c):
					bad(at("steps", strconv.Itoa(j), "channels"), "%q is not a channel (sms, call, email, webhook)", c)
					continue
				case (c == "sms" || c == "call") && !ch.Modem:
					bad(at("steps", strconv.Itoa(j)), "SMS and calls go through the room's modem: notify.modem is missing")
				case c == "email" && !ch.SMTP:
					bad(at("steps", strconv.Itoa(j)), "e-mail goes through a mail server: notify.smtp is missing")
				}
				for _, id := range s.People {
					p, ok := people[id]
					if ok && (c == "email" && p.Email == "" || c == "webhook" && !p.Webhook || (c == "sms" || c == "call") && p.Phone == "") {
						bad(at("steps", strconv.Itoa(j)), "%s has no way to be reached by %s", id, c)
					}
				}
			}
		}
	}
	if len(out) == 0 {
		if class := l.Uncovered(); class != "" {
			bad([]string{"calldown"}, "a %s alarm must reach at least two people: no call-down list brings it to two", class)
		}
	}
	return out
}

// Uncovered says which critical class the call-down lists would not bring
// to two distinct people ("": all do).
func (l Calldown) Uncovered() string {
	for _, class := range Critical {
		seen := map[string]bool{}
		if i := l.Match(class, 1); i >= 0 {
			for _, s := range l.Rules[i].Steps {
				for _, p := range s.People {
					seen[p] = true
				}
			}
		}
		if len(seen) < 2 {
			return string(class)
		}
	}
	return ""
}

// Match is the index of the first rule matching an alarm of class and
// priority (1 is the highest), -1 when none does: a rule matches by class,
// or, naming no class, by priority (at most MaxPriority; 0: every alarm).
func (l Calldown) Match(class gateway.AlarmClass, priority int) int {
	for i, r := range l.Rules {
		switch {
		case len(r.Classes) > 0 && slices.Contains(r.Classes, string(class)),
			len(r.Classes) == 0 && (r.MaxPriority == 0 || priority <= r.MaxPriority):
			return i
		}
	}
	return -1
}
