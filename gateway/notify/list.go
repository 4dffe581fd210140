package notify

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// List is who is told of which alarms: the people and the call-down lists.
// The room's config holds one (notify.people, notify.calldown); its
// security officer may replace it from a console (calldown/replace), and
// the newest stands. The channels themselves (the modem, the mail server,
// the group robots and their secrets) stay in the config.
type List struct {
	People []ListPerson `json:"people"`
	Rules  []ListRule   `json:"calldown"`
}

// ListPerson is someone the call-down reaches. Webhook (not in a command:
// a group robot's URL and secret stay in the config) tells whether the
// person has one.
type ListPerson struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Email   string `json:"email,omitempty"`
	Webhook bool   `json:"-"`
}

// ListRule is one call-down list: the alarms it matches (by class, or by
// priority; neither: every alarm) and its steps. The same rule is read from
// a room's config (notify.calldown, YAML) and from a console's
// calldown/replace (JSON); Check holds both to one rule.
type ListRule struct {
	Classes     []string   `json:"classes,omitempty" yaml:"classes"`
	MaxPriority int        `json:"max_priority,omitempty" yaml:"max_priority"`
	Steps       []ListStep `json:"steps" yaml:"steps"`
}

// ListStep is one rung: after (a Go duration, "0s", "1m"), these people,
// by these channels (default sms).
type ListStep struct {
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
func (l List) Check(ch Means) []Problem {
	var out []Problem
	bad := func(path []string, format string, args ...any) {
		out = append(out, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	people := map[string]ListPerson{}
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
		if class := l.config().CheckCritical(); class != "" {
			bad([]string{"calldown"}, "a %s alarm must reach at least two people: no call-down list brings it to two", class)
		}
	}
	return out
}

// config is the list as a Config's people and rules (webhooks left out).
func (l List) config() Config {
	var c Config
	c.Apply(l)
	return c
}

// Apply makes l the people and rules of c: its people replace the ones of
// the same id (keeping their group robot, which only a config has) or join
// them; its rules replace them all. l must have been checked.
func (c *Config) Apply(l List) {
	byID := map[string]int{}
	for i, p := range c.People {
		byID[p.ID] = i
	}
	for _, p := range l.People {
		np := Person{ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email}
		if i, ok := byID[p.ID]; ok {
			np.Webhook = c.People[i].Webhook
			c.People[i] = np
			continue
		}
		byID[p.ID] = len(c.People)
		c.People = append(c.People, np)
	}
	c.Rules = nil
	for _, r := range l.Rules {
		rule := Rule{MaxPriority: r.MaxPriority}
		for _, class := range r.Classes {
			rule.Classes = append(rule.Classes, gateway.AlarmClass(class))
		}
		for _, s := range r.Steps {
			after, _ := time.ParseDuration(s.After) // checked
			rule.Steps = append(rule.Steps, Step{After: after, People: s.People, Channels: s.Channels})
		}
		c.Rules = append(c.Rules, rule)
	}
}

// List is the people and rules of c, as a console edits them.
func (c Config) List() List {
	var l List
	for _, p := range c.People {
		l.People = append(l.People, ListPerson{ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email, Webhook: p.Webhook != nil})
	}
	for _, r := range c.Rules {
		lr := ListRule{MaxPriority: r.MaxPriority, Steps: []ListStep{}}
		for _, class := range r.Classes {
			lr.Classes = append(lr.Classes, string(class))
		}
		for _, s := range r.Steps {
			lr.Steps = append(lr.Steps, ListStep{After: s.After.String(), People: s.People, Channels: s.Channels})
		}
		l.Rules = append(l.Rules, lr)
	}
	return l
}

// Replace makes cfg's people and rules the notifier's for the alarms raised
// from now; call-downs running go on as they started.
func (n *Notifier) Replace(l List) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cfg.Apply(l)
	n.people = map[string]Person{}
	for _, p := range n.cfg.People {
		n.people[p.ID] = p
	}
}

// ListNow is the list in force.
func (n *Notifier) ListNow() List {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg.List()
}
