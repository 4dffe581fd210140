package notify

import (
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Apply makes l the people and rules of c: its people replace the ones of
// the same id (keeping their group robot, which only a config has) or join
// them; its rules replace them all. l must have been checked.
func (c *Config) Apply(l wire.Calldown) {
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
func (c Config) List() wire.Calldown {
	var l wire.Calldown
	for _, p := range c.People {
		l.People = append(l.People, wire.CalldownPerson{ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email, Webhook: p.Webhook != nil})
	}
	for _, r := range c.Rules {
		lr := wire.CalldownRule{MaxPriority: r.MaxPriority, Steps: []wire.CalldownStep{}}
		for _, class := range r.Classes {
			lr.Classes = append(lr.Classes, string(class))
		}
		for _, s := range r.Steps {
			lr.Steps = append(lr.Steps, wire.CalldownStep{After: s.After.String(), People: s.People, Channels: s.Channels})
		}
		l.Rules = append(l.Rules, lr)
	}
	return l
}

// Replace makes cfg's people and rules the notifier's for the alarms raised
// from now; call-downs running go on as they started.
func (n *Notifier) Replace(l wire.Calldown) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cfg.Apply(l)
	n.people = map[string]Person{}
	for _, p := range n.cfg.People {
		n.people[p.ID] = p
	}
}

// ListNow is the list in force.
func (n *Notifier) ListNow() wire.Calldown {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg.List()
}
