package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/cli"
	"github.com/roomguard/roomguard/gateway/homeassistant"
	"github.com/roomguard/roomguard/gateway/wire"
	"github.com/roomguard/roomguard/schemas"
)

// Error is one thing wrong with a config file, with where it is.
type Error struct {
	File  string
	Line  int    // 0 when unknown
	Field string // dotted path, e.g. inputs[2].pin
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file; a config is all right or refused whole.
type Errors []*Error

func (es Errors) Error() string {
	var lines []string
	for _, e := range es {
		lines = append(lines, e.Error())
	}
	return "config: " + strings.Join(lines, "\n  ")
}

// Parse reads a config from YAML bytes; source names the file in errors.
func Parse(data []byte, source string) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{{File: source, Line: yamlErrorLine(err), Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, Errors{{File: source, Msg: "the file is empty"}}
	}
	root := doc.Content[0]
	w := &walker{onPath: map[*yaml.Node]bool{}, budget: maxNodes}
	generic, err := w.toGeneric(root, nil)
	if err != nil {
		return nil, Errors{err.(*Error).in(source)}
	}
	if err := schemas.Validate("config", generic); err != nil {
		var inv *schemas.Invalid
		if !errors.As(err, &inv) {
			return nil, fmt.Errorf("config: %w", err)
		}
		var es Errors
		for _, v := range inv.Violations {
			for _, k := range v.Unknown { // a typo: point at the misspelled key itself
				at := append(append([]string(nil), v.Path...), k)
				es = append(es, &Error{File: source, Line: keyLine(root, at), Field: dotted(at), Msg: "unknown field"})
			}
			if len(v.Unknown) > 0 {
				continue
			}
			n := lookup(root, v.Path)
			es = append(es, &Error{File: source, Line: n.Line, Field: dotted(v.Path), Msg: v.Message})
		}
		// The validator reports in no fixed order; a reader wants the file's.
		sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
		return nil, es
	}
	c := &Config{Source: source}
	if err := root.Decode(c); err != nil {
		return nil, Errors{{File: source, Line: yamlErrorLine(err), Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	c.applyDefaults()
	inputs := lookup(root, []string{"inputs"})
	for i := range c.Inputs {
		if lookupIn(inputs, []string{strconv.Itoa(i), "debounce"}) == nil {
			c.Inputs[i].Debounce = Duration(DefaultDebounce)
		}
	}
	if es := c.check(root); len(es) > 0 {
		return nil, es
	}
	return c, nil
}

func (e *Error) in(file string) *Error { e.File = file; return e }

// maxNodes bounds the expanded document: a few aliases can otherwise expand
// into billions of nodes ("billion laughs"). A room needs a few hundred.
const maxNodes = 100000

// walker turns a YAML node into the values a JSON Schema validator expects,
// refusing alias cycles and alias bombs.
type walker struct {
	onPath map[*yaml.Node]bool
	budget int
}

func (w *walker) toGeneric(n *yaml.Node, path []string) (any, error) {
	if w.budget--; w.budget < 0 {
		return nil, &Error{Line: n.Line, Field: dotted(path), Msg: fmt.Sprintf("the document expands to more than %d values", maxNodes)}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		return w.toGeneric(n.Content[0], path)
	case yaml.AliasNode:
		if w.onPath[n.Alias] {
			return nil, &Error{Line: n.Line, Field: dotted(path), Msg: "alias *" + n.Value + " refers to itself"}
		}
		w.onPath[n.Alias] = true
		defer delete(w.onPath, n.Alias)
		return w.toGeneric(n.Alias, path)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, &Error{Line: k.Line, Field: dotted(path), Msg: "a key must be a plain word"}
			}
			if _, dup := m[k.Value]; dup {
				return nil, &Error{Line: k.Line, Field: dotted(append(path, k.Value)), Msg: "given twice"}
			}
			v, err := w.toGeneric(n.Content[i+1], append(path, k.Value))
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := w.toGeneric(c, append(path, strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, &Error{Line: n.Line, Field: dotted(path), Msg: err.Error()}
			}
			return b, nil
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, &Error{Line: n.Line, Field: dotted(path), Msg: err.Error()}
			}
			return json.Number(strconv.FormatFloat(f, 'f', -1, 64)), nil
		}
		return n.Value, nil
	}
	return nil, &Error{Line: n.Line, Field: dotted(path), Msg: "unsupported YAML"}
}

// lookup finds the node at a JSON path, or the deepest node on the way, so an
// error about a missing field points at the object that lacks it.
func lookup(root *yaml.Node, path []string) *yaml.Node {
	n := root
	for _, p := range path {
		next := lookupIn(n, []string{p})
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

// keyLine is the line of the key at the end of path.
func keyLine(root *yaml.Node, path []string) int {
	parent := lookup(root, path[:len(path)-1])
	for i := 0; i+1 < len(parent.Content) && parent.Kind == yaml.MappingNode; i += 2 {
		if parent.Content[i].Value == path[len(path)-1] {
			return parent.Content[i].Line
		}
	}
	return parent.Line
}

func lookupIn(n *yaml.Node, path []string) *yaml.Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		for n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(p); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		n = next
	}
	return n
}

// dotted writes a JSON path as a person reads it: inputs[2].pin.
func dotted(path []string) string {
	var b strings.Builder
	for _, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func yamlErrorLine(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, err := strconv.Atoi(rest[:j]); err == nil {
			return n
		}
	}
	return 0
}

// check applies the rules a schema cannot express.
func (c *Config) check(root *yaml.Node) Errors {
	var es Errors
	bad := func(path []string, format string, args ...any) {
		es = append(es, &Error{File: c.Source, Line: lookup(root, path).Line, Field: dotted(path), Msg: fmt.Sprintf(format, args...)})
	}
	ids := map[string]string{}
	claimID := func(path []string, id string) {
		if prev, ok := ids[id]; ok {
			bad(path, "id %q is already used by %s", id, prev)
			return
		}
		ids[id] = dotted(path[:len(path)-1])
	}
	pins := map[string]string{}
	claimPin := func(path []string, pin string) {
		key := strings.ToUpper(pin)
		if prev, ok := pins[key]; ok {
			bad(path, "pin %s is already used by %s", pin, prev)
			return
		}
		pins[key] = dotted(path[:2])
	}
	for _, b := range []struct {
		key    string
		d      Duration
		bounds [2]time.Duration
	}{{"exit_delay", c.Alarm.ExitDelay, ExitDelayBounds}, {"entry_delay", c.Alarm.EntryDelay, EntryDelayBounds},
		{"siren_cutoff", c.Alarm.SirenCutoff, SirenCutoffBounds}} {
		if d := b.d.D(); d < b.bounds[0] || d > b.bounds[1] {
			bad([]string{"alarm", b.key}, "%s is out of bounds (%s to %s)", d, b.bounds[0], b.bounds[1])
		}
	}
	for i, d := range c.Alarm.Escalation {
		if d <= 0 || (i > 0 && d <= c.Alarm.Escalation[i-1]) {
			bad([]string{"alarm", "escalation", strconv.Itoa(i)}, "escalation steps must be positive and increasing")
		}
	}
	if c.Schedule.Timezone != "" {
		loc, err := time.LoadLocation(c.Schedule.Timezone)
		if err != nil {
			bad([]string{"schedule", "timezone"}, "unknown time zone %q", c.Schedule.Timezone)
		}
		c.Schedule.Location = loc
	}
	if c.Schedule.Location == nil {
		c.Schedule.Location = time.Local
	}
	for name, roles := range c.CommandRoles {
		if !gateway.IsCommand(name) || !gateway.NamesPerson(name) {
			bad([]string{"command_roles", name}, "%q is not a command that names a person (%s)", name, strings.Join(gateway.Commands, ", "))
		}
		for j, r := range roles {
			if _, err := gateway.ParseRole(r); err != nil {
				bad([]string{"command_roles", name, strconv.Itoa(j)}, "%v", err)
			}
		}
	}
	names := map[string]int{}
	for i, p := range c.Principals {
		at := func(f string) []string { return []string{"principals", strconv.Itoa(i), f} }
		if p.Name == gateway.LocalPrincipal || p.Name == "unsigned" {
			bad(at("name"), "%q is the gateway's own: choose another name", p.Name)
		} else if prev, dup := names[p.Name]; dup {
			bad(at("name"), "%q is already principals[%d]", p.Name, prev)
		}
		names[p.Name] = i
		if _, err := gateway.ParsePublicKey(p.Key); err != nil {
			bad(at("key"), "%v", err)
		}
		for j, cmd := range p.Commands {
			if cmd != "*" && !gateway.IsCommand(cmd) {
				bad([]string{"principals", strconv.Itoa(i), "commands", strconv.Itoa(j)}, "%q is not a command (%s, or * for all)", cmd, strings.Join(gateway.Commands, ", "))
			}
		}
	}
	for i, h := range c.Holidays {
		at := func(f string) []string { return []string{"holidays", strconv.Itoa(i), f} }
		from, err1 := time.Parse(time.DateOnly, h.From)
		to, err2 := time.Parse(time.DateOnly, h.To)
		switch {
		case err1 != nil:
			bad(at("from"), "%q is not a date", h.From)
		case err2 != nil:
			bad(at("to"), "%q is not a date", h.To)
		case to.Before(from):
			bad(at("to"), "%s is before %s", h.To, h.From)
		}
	}
	for i, w := range c.Workdays {
		at := []string{"workdays", strconv.Itoa(i), "date"}
		d, err := time.Parse(time.DateOnly, w.Date)
		switch {
		case err != nil:
			bad(at, "%q is not a date", w.Date)
		case d.Weekday() != time.Saturday && d.Weekday() != time.Sunday:
			bad(at, "%s is a %s: a make-up workday (调休) is a weekend day worked", w.Date, d.Weekday())
		default:
			for j, h := range c.Holidays {
				if h.From <= w.Date && w.Date <= h.To {
					bad(at, "%s is in holidays[%d] (%s)", w.Date, j, h.Name)
				}
			}
		}
	}
	for i, in := range c.Inputs {
		at := func(f string) []string { return []string{"inputs", strconv.Itoa(i), f} }
		claimID(at("id"), in.ID)
		claimPin(at("pin"), in.Pin)
		if d := in.Debounce.D(); d < 0 || d > maxDebounce {
			bad(at("debounce"), "%s is out of bounds (0 to %s)", d, maxDebounce)
		}
		if in.Strike != "" {
			if in.Kind != gateway.KindExitButton {
				bad(at("strike"), "only an exit-button releases a strike")
			} else if !c.hasOutput(in.Strike, gateway.KindDoorStrike) {
				bad(at("strike"), "%q is not a door-strike output", in.Strike)
			}
		}
	}
	for i, o := range c.Outputs {
		at := func(f string) []string { return []string{"outputs", strconv.Itoa(i), f} }
		claimID(at("id"), o.ID)
		claimPin(at("pin"), o.Pin)
		if o.Pulse != 0 && o.Kind != gateway.KindDoorStrike {
			bad(at("pulse"), "only a door-strike is pulsed")
		}
		if d := o.Pulse.D(); o.Kind == gateway.KindDoorStrike && (d < minPulse || d > maxPulse) {
			bad(at("pulse"), "%s is out of bounds (%s to %s)", d, minPulse, maxPulse)
		}
	}
	paths := map[string]string{}
	for i, s := range c.Serial {
		at := func(f string) []string { return []string{"serial", strconv.Itoa(i), f} }
		claimID(at("id"), s.ID)
		if prev, ok := paths[s.Path]; ok {
			bad(at("path"), "%s is already used by %s", s.Path, prev)
		}
		paths[s.Path] = dotted(at("id")[:2])
		switch {
		case s.Kind == ClimateModbus:
			if s.Address != nil && (*s.Address < 1 || *s.Address > 247) {
				bad(at("address"), "%d is not a Modbus address (1 to 247)", *s.Address)
			}
			if d := s.Every.D(); d != 0 && (d < minClimateEvery || d > maxClimateEvery) {
				bad(at("every"), "%s is out of bounds (%s to %s)", d, minClimateEvery, maxClimateEvery)
			}
		case s.Address != nil && !strings.HasPrefix(s.Kind, "uhf-chafon"):
			bad(at("address"), "only a uhf-chafon18 or uhf-chafon288 reader or a climate-modbus sensor has a bus address")
		}
		if s.Every.D() != 0 && s.Kind != ClimateModbus {
			bad(at("every"), "only a climate-modbus sensor is read every so often")
		}
	}
	es = append(es, c.checkBoards(root, claimID, paths)...)
	for i, w := range c.Wiegand {
		at := func(f string) []string { return []string{"wiegand", strconv.Itoa(i), f} }
		claimID(at("id"), w.ID)
		claimPin(at("d0"), w.D0)
		claimPin(at("d1"), w.D1)
	}
	es = append(es, c.checkAccess(root)...)
	es = append(es, c.checkCarriers(root, claimID)...)
	if d := c.GPIO.Poll.D(); d < minPoll || d > maxPoll {
		bad([]string{"gpio", "poll"}, "%s is out of bounds (%s to %s)", d, minPoll, maxPoll)
	}
	es = append(es, c.checkMQTT(root)...)
	es = append(es, c.checkNotify(root)...)
	if l := c.ClimateLimits(); c.Climate != nil && l.TemperatureMin >= l.TemperatureMax {
		bad([]string{"climate", "temperature_min"}, "%g °C is not below temperature_max (%g °C)", l.TemperatureMin, l.TemperatureMax)
	}
	if h := c.HomeAssistant; h != nil {
		if h.Prefix == "" {
			h.Prefix = homeassistant.DefaultPrefix
		}
		if strings.ContainsAny(h.Prefix, "+#/") || h.Prefix == "roomguard" || strings.TrimSpace(h.Prefix) != h.Prefix {
			bad([]string{"homeassistant", "discovery_prefix"}, "%q is not a discovery prefix (one topic level, no wildcard, not roomguard)", h.Prefix)
		}
		if a := h.Arm; a != nil {
			at := []string{"homeassistant", "arm", "codes_file"}
			f, err := os.Open(a.CodesFile)
			if err == nil {
				a.Codes, err = homeassistant.ReadCodes(f, a.CodesFile)
				err = errors.Join(err, f.Close())
			}
			if err != nil {
				bad(at, "%v", err)
			} else if len(a.Codes) == 0 {
				bad(at, "%s gives nobody a code", a.CodesFile)
			}
		}
		for i, p := range c.Principals {
			if p.Name == homeassistant.Principal {
				bad([]string{"principals", strconv.Itoa(i), "name"}, "%q is Home Assistant's arming (homeassistant.arm); give this principal another name", p.Name)
			}
		}
	}
	return es
}

// Bounds, each with its reason.
const (
	minClimateEvery = time.Second            // an SHT20 measures in under 100 ms; faster is noise
	maxClimateEvery = 10 * time.Minute       // damp builds in hours; a silent sensor shows within three reads
	maxDebounce     = 10 * time.Second       // longer would hide a real opening
	minPoll         = 10 * time.Millisecond  // below this the Pi spends its time polling
	maxPoll         = 10 * time.Second       // EN 50131: faults show well within 180 s; we want seconds
	minPulse        = 500 * time.Millisecond // a strike needs time to release
	maxPulse        = time.Minute            // longer is a door left unlocked
	minKeepAlive    = 5 * time.Second
	maxKeepAlive    = 10 * time.Minute
)

func (c *Config) checkAccess(root *yaml.Node) Errors {
	var es Errors
	bad := func(path []string, format string, args ...any) {
		es = append(es, &Error{File: c.Source, Line: lookup(root, path).Line, Field: dotted(path), Msg: fmt.Sprintf(format, args...)})
	}
	inputKind := c.inputKinds()
	readers := c.Readers()
	usedReader := map[string]string{}
	for i, d := range c.Access.Doors {
		at := func(f ...string) []string { return append([]string{"access", "doors", strconv.Itoa(i)}, f...) }
		if inputKind[d.Door] != gateway.KindDoor {
			bad(at("door"), "%q is not a door input", d.Door)
		}
		if !c.hasOutput(d.Strike, gateway.KindDoorStrike) {
			bad(at("strike"), "%q is not a door-strike output", d.Strike)
		}
		if d.ExitButton != "" && inputKind[d.ExitButton] != gateway.KindExitButton {
			bad(at("exit_button"), "%q is not an exit-button input", d.ExitButton)
		}
		if h := d.HeldOpen.D(); h < 10*time.Second || h > 10*time.Minute {
			bad(at("held_open"), "%s is out of bounds (10s to 10m)", h)
		}
		if d.HeldWarning <= 0 || d.HeldWarning >= d.HeldOpen {
			bad(at("held_warning"), "%s must be positive and shorter than held_open (%s)", d.HeldWarning.D(), d.HeldOpen.D())
		}
		for j, r := range d.Readers {
			rat := at("readers", strconv.Itoa(j), "device")
			if _, ok := readers[r.Device]; !ok {
				bad(rat, "%q is not a badge reader (a serial em4100 or pn532 device, or a wiegand reader)", r.Device)
			}
			if prev, ok := usedReader[r.Device]; ok {
				bad(rat, "reader %q is already at %s", r.Device, prev)
			}
			usedReader[r.Device] = dotted(at("door"))
		}
	}
	if c.Ret.Days != 0 && c.Ret.Days < 180 {
		bad([]string{"retention", "days"}, "%d days is shorter than the 180 GB 50396 requires", c.Ret.Days)
	}
	return es
}

// checkCarriers checks the safes and the carriers section.
func (c *Config) checkCarriers(root *yaml.Node, claimID func([]string, string)) Errors {
	var es Errors
	bad := func(path []string, format string, args ...any) {
		es = append(es, &Error{File: c.Source, Line: lookup(root, path).Line, Field: dotted(path), Msg: fmt.Sprintf(format, args...)})
	}
	inputKind := c.inputKinds()
	safes := map[string]bool{}
	usedInput := map[string]string{}
	for i, s := range c.Safes {
		at := func(f string) []string { return []string{"safes", strconv.Itoa(i), f} }
		claimID(at("id"), s.ID)
		safes[s.ID] = true
		for _, f := range []struct {
			key, id string
			kind    gateway.InputKind
		}{{"bolt", s.Bolt, gateway.KindSafeBolt}, {"door", s.Door, gateway.KindSafeDoor}} {
			if inputKind[f.id] != f.kind {
				bad(at(f.key), "%q is not a %s input", f.id, f.kind)
			} else if prev, ok := usedInput[f.id]; ok {
				bad(at(f.key), "%q already belongs to %s", f.id, prev)
			}
			usedInput[f.id] = dotted(at("id")[:2])
		}
		if d := s.OpenReminder.D(); d < time.Minute || d > 8*time.Hour {
			bad(at("open_reminder"), "%s is out of bounds (1m to 8h)", d)
		}
	}
	cs := c.Carriers
	if cs == nil {
		for i, s := range c.Serial {
			if s.UHF() {
				bad([]string{"serial", strconv.Itoa(i), "kind"}, "a UHF reader needs a carriers section saying what its antennas watch")
			}
		}
		return es
	}
	uhf := map[string]string{}
	for _, s := range c.Serial {
		if s.UHF() {
			uhf[s.ID] = s.Kind
		}
	}
	seen := map[[2]any]string{}
	for i, a := range cs.Antennas {
		at := func(f string) []string { return []string{"carriers", "antennas", strconv.Itoa(i), f} }
		kind, ok := uhf[a.Reader]
		switch {
		case !ok:
			bad(at("reader"), "%q is not a UHF reader (a serial uhf-r200, uhf-chafon18 or uhf-chafon288 device)", a.Reader)
		case a.Antenna > 1 && kind != "uhf-chafon288":
			bad(at("antenna"), "a %s reader has one antenna", kind)
		}
		k := [2]any{a.Reader, a.Antenna}
		if prev, dup := seen[k]; dup {
			bad(at("antenna"), "antenna %d of %s is already at %s", a.Antenna, a.Reader, prev)
		}
		seen[k] = dotted(at("reader")[:3])
		if a.Safe != "" && !safes[a.Safe] {
			bad(at("safe"), "%q is not a safe of the safes section", a.Safe)
		}
		if a.Gate != "" && inputKind[a.Gate] != gateway.KindDoor {
			bad(at("gate"), "%q is not a door input", a.Gate)
		}
	}
	if d := cs.Departure.D(); d < 30*time.Second || d > time.Hour {
		bad([]string{"carriers", "departure"}, "%s is out of bounds (30s to 1h)", d)
	}
	if d := cs.MaxLoan.D(); d < time.Hour || d > 7*24*time.Hour {
		bad([]string{"carriers", "max_loan"}, "%s is out of bounds (1h to 168h)", d)
	}
	if d := cs.Circulation.D(); d < time.Hour || d > 30*24*time.Hour {
		bad([]string{"carriers", "circulation_limit"}, "%s is out of bounds (1h to 720h)", d)
	}
	if d := cs.LossGrace.D(); d < time.Hour || d > 30*24*time.Hour {
		bad([]string{"carriers", "loss_grace"}, "%s is out of bounds (1h to 720h)", d)
	}
	for i, s := range c.Serial {
		if s.UHF() && !slices.ContainsFunc(cs.Antennas, func(a CarrierAntenna) bool { return a.Reader == s.ID }) {
			bad([]string{"serial", strconv.Itoa(i), "id"}, "UHF reader %s watches nothing: give it an antenna in carriers.antennas", s.ID)
		}
	}
	return es
}

// inputKinds maps each input id, the boards' included, to its kind.
func (c *Config) inputKinds() map[string]gateway.InputKind {
	m := map[string]gateway.InputKind{}
	for _, in := range c.Inputs {
		m[in.ID] = in.Kind
	}
	for _, in := range c.BoardInputs() {
		m[in.ID] = in.Kind
	}
	for _, in := range c.ClimateInputs() {
		m[in.ID] = in.Kind
	}
	return m
}

func (c *Config) hasOutput(id string, kind gateway.OutputKind) bool {
	return slices.Contains(c.outputsOfKind(kind), id)
}

// Bounds of a board's timings.
var (
	SilentAfterBounds = [2]time.Duration{2 * time.Second, 180 * time.Second}       // a heartbeat every 500 ms; EN 50131 G3 < 180 s
	ReleaseBounds     = [2]time.Duration{100 * time.Millisecond, 10 * time.Second} // PROTOCOL.md UNLOCK
)

// checkBoards checks the boards: ids, serial paths, point numbers, timings.
func (c *Config) checkBoards(root *yaml.Node, claimID func([]string, string), paths map[string]string) Errors {
	var es Errors
	bad := func(path []string, format string, args ...any) {
		es = append(es, &Error{File: c.Source, Line: lookup(root, path).Line, Field: dotted(path), Msg: fmt.Sprintf(format, args...)})
	}
	for i, b := range c.Boards {
		at := func(f ...string) []string { return append([]string{"boards", strconv.Itoa(i)}, f...) }
		claimID(at("id"), b.ID)
		if prev, ok := paths[b.Path]; ok {
			bad(at("path"), "%s is already used by %s", b.Path, prev)
		}
		paths[b.Path] = dotted(at())
		if d := b.SilentAfter.D(); d < SilentAfterBounds[0] || d > SilentAfterBounds[1] {
			bad(at("silent_after"), "%s is out of bounds (%s to %s)", d, SilentAfterBounds[0], SilentAfterBounds[1])
		}
		if len(b.Zones)+len(b.Locks)+len(b.Relays) == 0 {
			bad(at(), "board %s has no zones, locks or relays", b.ID)
		}
		numbers := map[string]map[int]string{}
		number := func(path []string, what string, n int) {
			if numbers[what] == nil {
				numbers[what] = map[int]string{}
			}
			if prev, ok := numbers[what][n]; ok {
				bad(path, "%s %d is already %s", what, n, prev)
			}
			numbers[what][n] = dotted(path[:4])
		}
		for j, z := range b.Zones {
			zat := func(f string) []string { return at("zones", strconv.Itoa(j), f) }
			claimID(zat("id"), z.ID)
			number(zat("zone"), "zone", z.Zone)
		}
		for j, l := range b.Locks {
			lat := func(f string) []string { return at("locks", strconv.Itoa(j), f) }
			claimID(lat("id"), l.ID)
			claimID(lat("bolt"), l.Bolt)
			claimID(lat("door"), l.Door)
			number(lat("lock"), "lock", l.Lock)
			if d := l.Release.D(); d < ReleaseBounds[0] || d > ReleaseBounds[1] {
				bad(lat("release"), "%s is out of bounds (%s to %s)", d, ReleaseBounds[0], ReleaseBounds[1])
			}
		}
		for j, r := range b.Relays {
			rat := func(f string) []string { return at("relays", strconv.Itoa(j), f) }
			claimID(rat("id"), r.ID)
			number(rat("relay"), "relay", r.Relay)
			if r.Pulse != 0 && r.Kind != gateway.KindDoorStrike {
				bad(rat("pulse"), "only a door-strike is pulsed")
			}
			if d := r.Pulse.D(); r.Kind == gateway.KindDoorStrike && (d < minPulse || d > maxPulse) {
				bad(rat("pulse"), "%s is out of bounds (%s to %s)", d, minPulse, maxPulse)
			}
		}
	}
	return es
}

func (c *Config) checkMQTT(root *yaml.Node) Errors {
	var es Errors
	m := &c.MQTT
	bad := func(path []string, format string, args ...any) {
		es = append(es, &Error{File: c.Source, Line: lookup(root, path).Line, Field: dotted(path), Msg: fmt.Sprintf(format, args...)})
	}
	if d := m.KeepAlive.D(); d < minKeepAlive || d > maxKeepAlive {
		bad([]string{"mqtt", "keepalive"}, "%s is out of bounds (%s to %s)", d, minKeepAlive, maxKeepAlive)
	}
	if m.External() {
		if m.Embedded != nil {
			bad([]string{"mqtt", "embedded"}, "give either url (an external broker) or embedded, not both")
		}
		scheme := brokerScheme(m.URL)
		secure := scheme == "ssl" || scheme == "tls" || scheme == "mqtts"
		for _, f := range []struct{ key, val string }{{"ca_file", m.CAFile}, {"cert_file", m.CertFile}, {"key_file", m.KeyFile}} {
			if f.val != "" && !secure {
				bad([]string{"mqtt", f.key}, "TLS files need an ssl:// or mqtts:// url")
			}
			if f.val != "" {
				if _, err := os.Stat(f.val); err != nil {
					bad([]string{"mqtt", f.key}, "%v", err)
				}
			}
		}
		if m.PasswordFile != "" {
			pw, err := cli.ReadSecret(m.PasswordFile)
			if err != nil {
				bad([]string{"mqtt", "password_file"}, "%v", err)
			}
			m.Password = pw
		}
		return es
	}
	for _, f := range []string{"username", "password_file", "ca_file", "cert_file", "key_file"} {
		if lookupIn(root, []string{"mqtt", f}) != nil {
			bad([]string{"mqtt", f}, "only for an external broker (mqtt.url)")
		}
	}
	e := m.Embedded
	if err := m.CheckListen(e.Listen); err != nil {
		bad([]string{"mqtt", "embedded", "listen"}, "%v", err)
	}
	seen := map[string]bool{}
	for i := range e.Users {
		u := &e.Users[i]
		at := []string{"mqtt", "embedded", "users", strconv.Itoa(i)}
		if seen[u.Username] {
			bad(append(at, "username"), "user %q given twice", u.Username)
		}
		seen[u.Username] = true
		pw, err := cli.ReadSecret(u.PasswordFile)
		if err != nil {
			bad(append(at, "password_file"), "%v", err)
		}
		u.Password = pw
	}
	return es
}

// checkNotify checks the call-down: its people, the people and classes its
// steps name, its time zone, a modem for its channels, and that every
// critical alarm reaches two people.
func (c *Config) checkNotify(root *yaml.Node) Errors {
	if c.Notify == nil {
		return nil
	}
	var es Errors
	bad := func(path []string, format string, args ...any) {
		es = append(es, &Error{File: c.Source, Line: lookup(root, path).Line, Field: dotted(path), Msg: fmt.Sprintf(format, args...)})
	}
	n := c.Notify
	for i, p := range n.People {
		if w := p.Webhook; w != nil && w.SecretFile != "" {
			s, err := cli.ReadSecret(w.SecretFile)
			if err != nil {
				bad([]string{"notify", "people", strconv.Itoa(i), "webhook", "secret_file"}, "%v", err)
			}
			c.Notify.People[i].Webhook.Secret = s
		}
	}
	if m := n.SMTP; m != nil && m.PasswordFile != "" {
		pw, err := cli.ReadSecret(m.PasswordFile)
		if err != nil {
			bad([]string{"notify", "smtp", "password_file"}, "%v", err)
		}
		m.Password = pw
	}
	if n.Timezone != "" {
		if _, err := time.LoadLocation(n.Timezone); err != nil {
			bad([]string{"notify", "timezone"}, "%v", err)
		}
	}
	// the lists: the one rule a console's edit is held to as well
	for _, p := range n.List().Check(wire.Means{Modem: n.Modem != nil, SMTP: n.SMTP != nil}) {
		bad(append([]string{"notify"}, p.Path...), "%s", p.Msg)
	}
	return es
}
