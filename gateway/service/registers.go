package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/csv"
	"github.com/roomguard/roomguard/gateway/room"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Retained is where the registers' versions and the call-down in force
// are published (mqtt.Retained).
type Retained interface {
	Personnel(payload json.RawMessage)
	CarrierRegister(payload json.RawMessage)
	Calldown(payload json.RawMessage)
}

// registerPayload is the retained version of a register the room holds.
func registerPayload(room string, ri sqlite.RegisterInfo) []byte {
	return mustJSON(map[string]any{"room": room, "version": ri.Version, "count": ri.Count,
		"updated_at": ri.UpdatedAt.Format(gateway.TimeFormat), "updated_by": ri.UpdatedBy, "sha256": ri.SHA256})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with maps of plain values
	}
	return b
}

// Registers is the room that replaces a register in one of its changes
// (room.Room.ReplaceRegister).
type Registers interface {
	ReplaceRegister(r gateway.RegisterChange) error
}

// Personnel carries out the entry-control commands (mqtt.AccessTarget): the
// room's entry control, and the register replaced whole.
type Personnel struct {
	*room.Access
	Registers Registers
	Store     *sqlite.Store
	Limits    gateway.Limits
	Retained  Retained
	Room      string
	Clock     gateway.Clock
}

// ReplacePersonnel replaces the register with the CSV text of r, as its
// version, if gateway.CheckRegister lets it.
func (p *Personnel) ReplacePersonnel(r gateway.PersonnelReplace) (map[string]any, error) {
	people, err := csv.ReadPeople(strings.NewReader(r.CSV), "personnel/replace", p.Limits.Persons)
	if err != nil {
		return nil, gateway.Errorf(gateway.EINVALID, "%v", err)
	}
	if err := gateway.CheckRegister(people, p.Room, r); err != nil {
		return nil, err
	}
	if err := p.Registers.ReplaceRegister(gateway.RegisterChange{Name: "personnel", Version: r.Version, By: r.By, At: p.Clock.Now(), People: people}); err != nil {
		return nil, err
	}
	ri, err := p.Store.Register()
	if err != nil {
		return nil, err
	}
	p.Publish(ri)
	return map[string]any{"version": ri.Version, "count": ri.Count, "sha256": ri.SHA256}, nil
}

// Publish sets the retained version of the register held.
func (p *Personnel) Publish(ri sqlite.RegisterInfo) {
	p.Retained.Personnel(registerPayload(p.Room, ri))
}

// Carriers carries out the carrier commands (mqtt.CarrierTarget): the
// room's carrier tracking, and the register replaced whole, every
// carrier's home one of the room's safes.
type Carriers struct {
	*room.Vault
	Registers Registers
	Receiver  Receiver
	Store     *sqlite.Store
	Limits    gateway.Limits
	Retained  Retained
	Room      string
	Safes     []string // the room's safes: a carrier's home is one of them
	Clock     gateway.Clock
}

// ReplaceCarriers replaces the register with the CSV text, as version.
func (c *Carriers) ReplaceCarriers(text string, version int64, by string) (map[string]any, error) {
	carriers, err := csv.ReadCarriers(strings.NewReader(text), "carriers/replace", c.Limits.Carriers)
	if err != nil {
		return nil, gateway.Errorf(gateway.EINVALID, "%v", err)
	}
	var bad []string
	for _, k := range carriers {
		if !slices.Contains(c.Safes, k.Home) {
			bad = append(bad, fmt.Sprintf("%s: home %q", k.ID, k.Home))
		}
	}
	if len(bad) > 0 {
		return nil, gateway.Errorf(gateway.EINVALID, "carriers/replace: homes that are not safes of this room (%s): %s",
			strings.Join(c.Safes, ", "), strings.Join(bad, "; "))
	}
	if err := c.Registers.ReplaceRegister(gateway.RegisterChange{Name: "carriers", Version: version, By: by, At: c.Clock.Now(), Carriers: carriers}); err != nil {
		return nil, err
	}
	ri, err := c.Store.CarrierRegister()
	if err != nil {
		return nil, err
	}
	c.Publish(ri)
	return map[string]any{"version": ri.Version, "count": ri.Count, "sha256": ri.SHA256}, nil
}

// Publish sets the retained version of the register held.
func (c *Carriers) Publish(ri sqlite.RegisterInfo) {
	c.Retained.CarrierRegister(registerPayload(c.Room, ri))
}

// Receiver is the room that registers a document received, a copy
// approved and a custody transferred, each in one of its changes (room.Room).
type Receiver interface {
	Receive(r gateway.Receipt) ([]gateway.Carrier, error)
	Copy(r gateway.CopyRequest) (*gateway.Pending, error)
	Transfer(r gateway.TransferRequest) (*gateway.Pending, error)
}

// Receive registers a document received (收文登记) and publishes the
// register's new version.
func (c *Carriers) Receive(r gateway.Receipt) ([]gateway.Carrier, error) {
	copies, err := c.Receiver.Receive(r)
	if err != nil {
		return nil, err
	}
	c.republish()
	return copies, nil
}

// republish publishes the register's version after a change that may have
// made a new one.
func (c *Carriers) republish() {
	if ri, err := c.Store.CarrierRegister(); err == nil {
		c.Publish(ri)
	}
}

// done republishes the register after a step of a carrier's life that
// changed it (a copy approved, a custody transferred).
func (c *Carriers) done(p *gateway.Pending, err error) (*gateway.Pending, error) {
	if err == nil {
		c.stepDone(p)
	}
	return p, err
}

// stepDone republishes the register when step p, done, changed it.
func (c *Carriers) stepDone(p *gateway.Pending) {
	if p.Done && (p.Op == "carrier/copy" || p.Op == "custody/transfer") {
		c.republish()
	}
}

// Copy asks for copies of a document (复印、摘抄审批).
func (c *Carriers) Copy(r gateway.CopyRequest) (*gateway.Pending, error) {
	return c.done(c.Receiver.Copy(r))
}

// Transfer asks for a custody transfer (移交).
func (c *Carriers) Transfer(r gateway.TransferRequest) (*gateway.Pending, error) {
	return c.done(c.Receiver.Transfer(r))
}

// Confirm is a person's confirmation of a step waiting for them.
func (c *Carriers) Confirm(step, carrier, by, via string) (*gateway.Pending, error) {
	return c.done(c.Vault.Confirm(step, carrier, by, via))
}

// Approve is an approver's confirmation: of a sign-out, or of a step of
// the carrier's life (a copy).
func (c *Carriers) Approve(carrier, by, via string) (*gateway.SignOut, error) {
	l, err := c.Vault.Approve(carrier, by, via)
	if err == nil && l.Step != nil {
		c.stepDone(l.Step)
	}
	return l, err
}

// InventoryReport returns a stored report, the latest when id is empty.
func (c *Carriers) InventoryReport(id string) (*gateway.InventoryReport, error) {
	if id != "" {
		return c.Store.Inventory(id)
	}
	rs, err := c.Store.Inventories(time.Time{}, 1)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return &rs[0], nil
}

// Notifier is the call-down in force (notify.Notifier).
type Notifier interface {
	Replace(l wire.Calldown)
	ListNow() wire.Calldown
}

// Calldown carries out calldown/replace (mqtt.CalldownTarget): a list is
// held to the one rule of the call-down (wire.Calldown.Check, as the config
// is) against the room's channels, kept in the log, given to the notifier
// and published retained. The newest stands, across restarts.
type Calldown struct {
	Registers Registers
	Room      string
	Means     wire.Means
	Webhooks  map[string]bool // the people whose group robot the config gives
	Store     *sqlite.Store
	Notifier  Notifier
	Retained  Retained
	Clock     gateway.Clock
}

// read decodes and checks a list a console sent (or the log kept).
func (c *Calldown) read(doc json.RawMessage) (wire.Calldown, error) {
	var l wire.Calldown
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return l, gateway.Errorf(gateway.EINVALID, "calldown/replace: %v", err)
	}
	for i := range l.People {
		l.People[i].Webhook = c.Webhooks[l.People[i].ID]
	}
	if problems := l.Check(c.Means); len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Error()
		}
		return l, gateway.Errorf(gateway.EINVALID, "calldown/replace: %s", strings.Join(msgs, "; "))
	}
	return l, nil
}

// Load puts the list a console replaced last in force, when it still fits
// the room's channels (when it does not, the config's list stands, and the
// log says so); and publishes the list in force.
func (c *Calldown) Load(log *slog.Logger) error {
	doc, ri, err := c.Store.Calldown()
	if err != nil {
		return err
	}
	if doc != nil {
		l, err := c.read(doc)
		if err != nil {
			log.Error("the call-down a console set no longer fits the config: the config's is in force", "version", ri.Version, "err", err)
			ri = sqlite.RegisterInfo{}
		} else {
			c.Notifier.Replace(l)
		}
	}
	c.publish(ri)
	return nil
}

// ReplaceCalldown makes list the room's call-down, as version, when it
// keeps the call-down's rule.
func (c *Calldown) ReplaceCalldown(doc json.RawMessage, version int64, by string) (map[string]any, error) {
	l, err := c.read(doc)
	if err != nil {
		return nil, err
	}
	if err := c.Registers.ReplaceRegister(gateway.RegisterChange{Name: "calldown", Version: version, By: by, At: c.Clock.Now(), Calldown: doc}); err != nil {
		return nil, err
	}
	_, ri, err := c.Store.Calldown()
	if err != nil {
		return nil, err
	}
	c.Notifier.Replace(l)
	c.publish(ri)
	return map[string]any{"version": ri.Version, "people": len(l.People), "lists": len(l.Rules)}, nil
}

// publish sets the retained call-down: the list in force, whence.
func (c *Calldown) publish(ri sqlite.RegisterInfo) {
	l := c.Notifier.ListNow()
	p := map[string]any{"room": c.Room, "version": ri.Version, "source": "config", "people": l.People, "calldown": l.Rules}
	if ri.Version > 0 {
		p["source"], p["updated_at"], p["updated_by"] = "console", ri.UpdatedAt.Format(gateway.TimeFormat), ri.UpdatedBy
	}
	c.Retained.Calldown(mustJSON(p))
}
