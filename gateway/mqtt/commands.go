package mqtt

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
	"github.com/roomguard/roomguard/schemas"
)

// CommandTarget is what commands act on (room.Panel).
type CommandTarget interface {
	Arm(by string) error
	Disarm(by string) error
	SetBypass(by, reason string, devices []string) error
	Ack(id, by, comment string) error
	// SealVia and UnsealVia take one person's confirmation through an
	// authenticated channel (principal, and session): the second person
	// confirms through another.
	SealVia(by, via string) (gateway.SealStep, error)
	UnsealVia(by, via string) (gateway.SealStep, error)
}

// AccessTarget is what entry-control commands act on.
type AccessTarget interface {
	RegisterVisit(r gateway.VisitRequest) (*gateway.Visit, error)
	CheckOut(visitID, by string) (*gateway.Visit, error)
	// ReplacePersonnel replaces the whole register with the CSV text of r,
	// as its version, if gateway.CheckRegister lets it.
	ReplacePersonnel(r gateway.PersonnelReplace) (map[string]any, error)
}

// CalldownTarget is what calldown/replace acts on: the room's call-down.
type CalldownTarget interface {
	// ReplaceCalldown makes list (its people and calldown) the room's
	// call-down, as version.
	ReplaceCalldown(list json.RawMessage, version int64, by string) (map[string]any, error)
}

// CarrierTarget is what carrier commands act on.
type CarrierTarget interface {
	// ReplaceCarriers replaces the whole register with the CSV text, as version.
	ReplaceCarriers(csv string, version int64, by string) (map[string]any, error)
	SignOut(r gateway.SignOutRequest) (*gateway.SignOut, error)
	// Return closes a sign-out; a copy circulated waits for its reader's
	// confirmation (the reply's waiting_for).
	Return(carrier, by, via string) (*gateway.SignOut, error)
	// Approve is an approver's own confirmation of a sign-out naming them,
	// through channel via (another than the sign-out's).
	Approve(carrier, by, via string) (*gateway.SignOut, error)
	Extend(carrier string, due time.Time, approver, by, via string) (*gateway.SignOut, error)
	// Receive registers a document received (收文登记): its copies become
	// carriers of the register.
	Receive(r gateway.Receipt) ([]gateway.Carrier, error)
	// ReportLoss reports a carrier lost (丢失报告): the carrier-lost alarm
	// at once, the carrier marked lost.
	ReportLoss(carrier, by, detail string) error
	// The steps of a carrier's life (issue 30): each returns the step,
	// done or waiting for the people it names, whose own confirmation
	// (carrier/confirm, carrier/approve for a leader) makes it.
	End(op string, r gateway.EndRequest) (*gateway.Pending, error)
	Circulate(r gateway.CirculateRequest) (*gateway.Pending, error)
	Copy(r gateway.CopyRequest) (*gateway.Pending, error)
	Transfer(r gateway.TransferRequest) (*gateway.Pending, error)
	Confirm(step, carrier, by, via string) (*gateway.Pending, error)
	Inventory(trigger, by string) (*gateway.InventoryReport, error)
	// InventoryReport returns a stored report (the latest when id is empty).
	InventoryReport(id string) (*gateway.InventoryReport, error)
}

// SafeTarget is what safe/release acts on.
type SafeTarget interface {
	ReleaseSafe(safe, by, reason string) (map[string]any, error)
}

// EventSource is the log as events/resend reads it (gateway/sqlite.Store).
type EventSource interface {
	Pending(after uint64, limit int) ([]gateway.LogRecord, error)
	LastSeq() (uint64, error)
	FirstSeq() (uint64, error) // the oldest event's: before it pruned, after it a missing seq deleted
}

// Authorizer decides whether the person a command names in by may give
// it (room.Room.Authorize); it is asked once the command is believed and
// read, before it is carried out.
type Authorizer interface {
	Authorize(command, by, principal string) error
}

// KeyTarget records a safe's combination or a door's key changed, two
// people each through their own channel (room.Room.KeyChanged).
type KeyTarget interface {
	KeyChanged(q gateway.KeyChange) (done bool, err error)
}

// MaintenanceTarget carries out the maintenance visits (维修): asked for,
// approved by a leader, closed by the supervising custodian
// (room.Room).
type MaintenanceTarget interface {
	RequestMaintenance(q gateway.MaintenanceRequest) (string, error)
	ApproveMaintenance(id, by, via string) ([]string, error)
	CloseMaintenance(id, media, note, by string) error
}

// SafeGate decides whether a safe/release is carried out now or waits
// for a second person (room.Room.SafeRelease).
type SafeGate interface {
	SafeRelease(safe, by, via string) (bool, error)
}

// Targets are what the commands act on, each given when the room has it
// (nil: the room has none, and its commands are refused as not found).
type Targets struct {
	Room CommandTarget // arm, disarm, bypass, ack, seal, unseal
	// Authorizer, when set, checks the person a command names (every
	// command but events/resend).
	Authorizer Authorizer
	// Events answers events/resend: a consumer that noticed a gap in seq
	// asks for the range again.
	Events EventSource
	// Access carries out visitor/register, visitor/checkout and
	// personnel/replace.
	Access AccessTarget
	// Carriers carries out carriers/replace, carrier/signout,
	// carrier/return, carrier/extend, inventory/run and inventory/show.
	Carriers CarrierTarget
	// Safes carries out safe/release, through SafeGate when set.
	Safes    SafeTarget
	SafeGate SafeGate
	// Keys carries out safe/combination-changed.
	Keys KeyTarget
	// Maintenance carries out maintenance/request, /approve and /close.
	Maintenance MaintenanceTarget
	// Calldown carries out calldown/replace.
	Calldown CalldownTarget
}

var commandID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Commands answers roomguard/<room>/cmd/<name>: each payload is checked
// against schemas/cmd-<name>.schema.json, carried out, and answered on
// roomguard/<room>/reply/<id> (reply/unknown when it had no usable id). A
// bad command gets an error reply and changes nothing.
type Commands struct {
	session *Session
	t       Targets // fixed at construction

	limits  gateway.Limits
	auth    *Auth
	budgets *resendBudgets
	log     *slog.Logger
	intake  chan struct{} // a slot for each command being carried out
	replies replyBudget   // the replies to refused commands
}

// Intake is how many commands the room carries out at once. paho hands
// every message to its own goroutine: a command past these is dropped
// unread (refused as busy, within the refusals' budget), so a flood on
// cmd/# keeps the gateway's memory flat and takes no more than Intake
// message ids for its replies, away from the publisher of the events.
const Intake = 32

// RefusedReplies is how many replies to refused commands the room sends a
// second (and at once, after a quiet spell): past it a refused command gets
// no reply. Its refusal is logged or counted all the same.
const RefusedReplies = 20

// replyBudget is a token bucket of replies to refused commands.
type replyBudget struct {
	mu       sync.Mutex
	tokens   float64
	at       time.Time
	withheld int
}

// allow takes a token at now, if one is left.
func (b *replyBudget) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.at.IsZero() {
		b.tokens = RefusedReplies
	} else {
		b.tokens = min(RefusedReplies, b.tokens+now.Sub(b.at).Seconds()*RefusedReplies)
	}
	b.at = now
	if b.tokens < 1 {
		b.withheld++
		return false
	}
	b.tokens--
	return true
}

// NewCommands subscribes to the room's commands on session. A command
// longer than limits allow is refused unread; one auth does not believe
// is refused (nil: every command is).
func NewCommands(s *Session, t Targets, limits gateway.Limits, auth *Auth) *Commands {
	c := &Commands{session: s, t: t, limits: limits, auth: auth, budgets: newResendBudgets(limits), log: s.log,
		intake: make(chan struct{}, Intake)}
	s.Subscribe(s.topics.CmdFilter(), c.handle)
	return c
}

func (c *Commands) handle(topic string, payload []byte) {
	name := topic[strings.Index(topic, "/cmd/")+len("/cmd/"):]
	select {
	case c.intake <- struct{}{}:
		defer func() { <-c.intake }()
	default:
		c.refused("", name, gateway.Errorf(gateway.EBUSY, "%s: %d commands are being carried out: this one was dropped unread", name, Intake))
		return
	}
	r := c.Execute(name, payload)
	if r.Status == "error" {
		if !c.replies.allow(c.session.opts.Clock.Now()) {
			return // counted by the room; a flood gets no answers
		}
		level := slog.LevelWarn
		if name == "events/resend" && r.Error.Code == gateway.ENOTFOUND {
			// A console catching up asks past the end every minute in
			// normal running: not a warning (issue 28).
			level = slog.LevelDebug
		}
		c.log.Log(context.Background(), level, "command refused", "cmd", name, "id", r.ID, "code", r.Error.Code, "err", r.Error.Message)
	}
	b, err := json.Marshal(r)
	if err == nil {
		err = c.session.publish(c.session.Client(), c.session.topics.Reply(r.ID), false, b)
	}
	if err != nil {
		c.log.Warn("reply not sent", "cmd", name, "id", r.ID, "err", err)
	}
}

// Execute carries out one command and returns its reply: it must be signed
// by a principal the room trusts (Auth), who may send it, fresh and never
// seen before; then checked against its schema and carried out.
func (c *Commands) Execute(name string, payload []byte) wire.Reply {
	r := wire.Reply{ID: "unknown", Cmd: name, Status: "ok"}
	principal, cmd, err := c.open(name, payload)
	var head struct {
		ID any `json:"id"`
	}
	if len(cmd) <= c.limit(name) && json.Unmarshal(cmd, &head) == nil {
		if id, ok := head.ID.(string); ok && commandID.MatchString(id) {
			r.ID = id
		}
	}
	var result map[string]any
	if err == nil {
		result, err = c.execute(name, principal, cmd)
	}
	if err != nil {
		r.Status = "error"
		r.Error = &wire.ReplyError{Code: gateway.ErrorCode(err), Message: err.Error()}
		var ref *gateway.RefusedError
		if errors.As(err, &ref) {
			r.Error.Reasons = ref.Reasons
		}
		switch r.Error.Code {
		case gateway.EUNKNOWNPERSON, gateway.ENOTALLOWED, gateway.ESAMEPERSON:
			// Believed, but given by the wrong person: a refusal like
			// the others (those Auth refused it has told already).
			c.refused(principal, name, err)
		}
		return r
	}
	c.log.Info("command done", "cmd", name, "id", r.ID, "principal", principal)
	r.Result = result
	return r
}

// refused tells the room of a command refused after Auth believed it, or
// before Auth saw it. It logs a warning only while the room's budget would
// log the refusal too: a flood is said in the room's summary, not line by
// line on the console of the Pi.
func (c *Commands) refused(principal, name string, err error) {
	if c.auth == nil || c.auth.Refused == nil {
		return
	}
	if rerr := c.auth.Refused(principal, name, gateway.ErrorCode(err), err.Error()); rerr != nil {
		c.log.Warn("a refused command was not logged", "cmd", name, "err", rerr)
	}
}

// open checks that name is a command, that payload is within its bound,
// and that the room believes it (Auth). It returns the command's own bytes;
// on a refusal, whatever the envelope carried, for the reply's id only.
func (c *Commands) open(name string, payload []byte) (string, []byte, error) {
	schema := "cmd-" + strings.ReplaceAll(name, "/", "-")
	if _, err := schemas.Source(schema); err != nil || !gateway.IsCommand(name) { // (carrier-loss would find carrier/loss's schema)
		return "", payload, gateway.Errorf(gateway.ENOTFOUND, "unknown command %q (%s)", name, strings.Join(gateway.Commands, ", "))
	}
	bound := c.limit(name)
	if gateway.IsEnvelope(payload) {
		bound = gateway.EnvelopeBytes(bound)
	}
	if len(payload) > bound {
		return "", nil, gateway.Errorf(gateway.EINVALID, "%s: the command is %d bytes, more than %d", name, len(payload), bound)
	}
	if c.auth == nil {
		return "", nil, gateway.Errorf(gateway.EUNAUTHENTICATED, "%s: this room believes no command (it has no principals)", name)
	}
	principal, cmd, err := c.auth.Open(name, payload)
	if err != nil && cmd == nil {
		cmd = payload // unsigned: answer on its id
		if e, perr := gateway.ParseEnvelope(payload); perr == nil {
			cmd = e.Cmd
		}
	}
	return principal, cmd, err
}

func (c *Commands) execute(name, principal string, payload []byte) (map[string]any, error) {
	schema := "cmd-" + strings.ReplaceAll(name, "/", "-")
	if len(payload) > c.limit(name) {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: the command is %d bytes, more than %d", name, len(payload), c.limit(name))
	}
	if err := schemas.ValidateJSON(schema, payload); err != nil {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: %v", name, err)
	}
	var cmd command
	if err := json.Unmarshal(payload, &cmd); err != nil {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: %v", name, err)
	}
	if c.t.Authorizer != nil {
		if err := c.t.Authorizer.Authorize(name, cmd.By, principal); err != nil {
			return nil, err
		}
	}
	step := func(s gateway.SealStep, err error) (map[string]any, error) {
		if err != nil {
			return nil, err
		}
		if !s.Done {
			return map[string]any{"done": false, "waiting_for": "a second person", "confirmed_by": s.Waiting}, nil
		}
		res := map[string]any{"done": true}
		if s.Report != nil {
			res["seal_id"], res["verdict"] = s.Report.SealID, s.Report.Verdict
		}
		if s.Inventory != nil {
			res["inventory"], res["all_home"] = s.Inventory.ID, s.Inventory.AllHome
		}
		if s.InventoryError != "" {
			res["inventory_error"] = s.InventoryError
		}
		return res, nil
	}
	switch name {
	case "events/resend":
		return c.resend(cmd.Requester, cmd.From, cmd.To)
	case "arm":
		return nil, c.t.Room.Arm(cmd.By)
	case "disarm":
		return nil, c.t.Room.Disarm(cmd.By)
	case "bypass":
		return nil, c.t.Room.SetBypass(cmd.By, cmd.Reason, cmd.Devices)
	case "ack":
		return nil, c.t.Room.Ack(cmd.Alarm, cmd.By, cmd.Comment)
	case "seal":
		return step(c.t.Room.SealVia(cmd.By, via(principal, cmd.Session)))
	case "unseal":
		return step(c.t.Room.UnsealVia(cmd.By, via(principal, cmd.Session)))
	case "safe/release":
		if c.t.Safes == nil {
			return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: this room has no safe locks on a board", name)
		}
		if c.t.SafeGate != nil {
			done, err := c.t.SafeGate.SafeRelease(cmd.Safe, cmd.By, via(principal, cmd.Session))
			if err != nil {
				return nil, err
			}
			if !done {
				return map[string]any{"done": false, "safe": cmd.Safe, "waiting_for": "a second person (the safe holds top-secret carriers)"}, nil
			}
		}
		return c.t.Safes.ReleaseSafe(cmd.Safe, cmd.By, cmd.Reason)
	case "safe/combination-changed":
		if c.t.Keys == nil {
			return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: this room keeps no keys' records", name)
		}
		subject := cmp.Or(cmd.Safe, cmd.Door)
		done, err := c.t.Keys.KeyChanged(gateway.KeyChange{Subject: subject, Holder: cmd.Holder, By: cmd.By, Witness: cmd.Witness,
			Via: via(principal, cmd.Session)})
		if err != nil {
			return nil, err
		}
		if !done {
			return map[string]any{"done": false, "subject": subject, "waiting_for": cmd.Witness}, nil
		}
		return map[string]any{"done": true, "subject": subject, "holder": cmd.Holder}, nil
	case "maintenance/request", "maintenance/approve", "maintenance/close":
		if c.t.Maintenance == nil {
			return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: this room takes no maintenance visits", name)
		}
		return c.maintenance(name, via(principal, cmd.Session), cmd)
	case "calldown/replace":
		if c.t.Calldown == nil {
			return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: this room has no call-down (its config has no notify: section, which names its channels)", name)
		}
		list, err := json.Marshal(map[string]json.RawMessage{"people": cmd.People, "calldown": cmd.Calldown})
		if err != nil {
			return nil, gateway.Errorf(gateway.EINVALID, "%s: %v", name, err)
		}
		return c.t.Calldown.ReplaceCalldown(list, cmd.Version, cmd.By)
	}
	if strings.HasPrefix(name, "carrier") || strings.HasPrefix(name, "inventory/") || name == "custody/transfer" {
		return c.carrierCommand(name, via(principal, cmd.Session), cmd)
	}
	if c.t.Access == nil {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: this room has no entry control", name)
	}
	switch name {
	case "visitor/register":
		v := cmd.Visitor
		from, err1 := time.Parse(time.RFC3339, v.From)
		until, err2 := time.Parse(time.RFC3339, v.Until)
		if err := errors.Join(err1, err2); err != nil {
			return nil, gateway.Errorf(gateway.EINVALID, "%s: from/until: %v", name, err)
		}
		visit, err := c.t.Access.RegisterVisit(gateway.VisitRequest{Name: v.Name, IDType: v.IDType, IDNumber: v.IDNumber,
			Organization: v.Organization, Purpose: v.Purpose, Host: v.Host, Escort: v.Escort, Card: v.Card,
			From: from, Until: until, By: cmd.By})
		if err != nil {
			return nil, err
		}
		return map[string]any{"visit": visit.ID, "id_masked": visit.IDMasked, "card": gateway.MaskCard(visit.Card)}, nil
	case "visitor/checkout":
		visit, err := c.t.Access.CheckOut(cmd.Visit, cmd.By)
		if err != nil {
			return nil, err
		}
		return map[string]any{"visit": visit.ID, "checked_out_at": visit.CheckedOutAt.Format(gateway.TimeFormat)}, nil
	case "personnel/replace":
		return c.t.Access.ReplacePersonnel(gateway.PersonnelReplace{CSV: cmd.CSV, Version: cmd.Version, By: cmd.By, Principal: principal,
			AllowEmpty: cmd.AllowEmpty, AllowNoOfficer: cmd.AllowNoOfficer})
	}
	return nil, gateway.Errorf(gateway.ENOTFOUND, "unknown command %q", name)
}

// command is every field a command payload may have (each command's schema
// says which it has).
type command struct {
	By        string   `json:"by"`
	Reason    string   `json:"reason"`
	Devices   []string `json:"devices"`
	Alarm     string   `json:"alarm"`
	Comment   string   `json:"comment"`
	Visit     string   `json:"visit"`
	Version   int64    `json:"version"`
	CSV       string   `json:"csv"`
	Carrier   string   `json:"carrier"`
	Borrower  string   `json:"borrower"`
	Second    string   `json:"second"`
	Purpose   string   `json:"purpose"`
	Due       string   `json:"due"`
	MayLeave  bool     `json:"may_leave"`
	Approver  string   `json:"approver"`
	Report    string   `json:"report"`
	Safe      string   `json:"safe"`
	From      uint64   `json:"from"`
	To        uint64   `json:"to"`
	Requester string   `json:"requester"`
	// calldown/replace
	People   json.RawMessage `json:"people"`
	Calldown json.RawMessage `json:"calldown"`
	Session  string          `json:"session"`
	// carrier/loss
	Detail string `json:"detail"`
	// carrier/archive, carrier/return-to-issuer, carrier/destroy,
	// carrier/circulate, carrier/confirm, carrier/copy, custody/transfer
	Carriers  []string `json:"carriers"`
	Archive   string   `json:"archive"`
	Issuer    string   `json:"issuer"`
	Ref       string   `json:"ref"`
	Method    string   `json:"method"`
	Witnesses []string `json:"witnesses"`
	Reader    string   `json:"reader"`
	InRoom    bool     `json:"in_room"`
	Step      string   `json:"step"`
	Excerpt   bool     `json:"excerpt"`
	Outgoing  string   `json:"outgoing"`
	Incoming  string   `json:"incoming"`
	// maintenance/request, /approve, /close
	Company     string               `json:"company"`
	Equipment   string               `json:"equipment"`
	Technicians []gateway.Technician `json:"technicians"`
	Start       string               `json:"start"`
	End         string               `json:"end"`
	Maintenance string               `json:"maintenance"`
	Media       string               `json:"media"`
	Note        string               `json:"note"`
	// safe/combination-changed (its safe, or a door)
	Door    string `json:"door"`
	Holder  string `json:"holder"`
	Witness string `json:"witness"`
	// carrier/receive (its by is the command's)
	gateway.Receipt
	// personnel/replace
	AllowEmpty     bool `json:"allow_empty"`
	AllowNoOfficer bool `json:"allow_no_officer"`
	Visitor        struct {
		Name         string `json:"name"`
		IDType       string `json:"id_type"`
		IDNumber     string `json:"id_number"`
		Organization string `json:"organization"`
		Purpose      string `json:"purpose"`
		Host         string `json:"host"`
		Escort       string `json:"escort"`
		Card         string `json:"card"`
		From         string `json:"from"`
		Until        string `json:"until"`
	} `json:"visitor"`
}

// carrierCommand carries out the carrier and inventory commands.
func (c *Commands) carrierCommand(name, via string, cmd command) (map[string]any, error) {
	if c.t.Carriers == nil {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: this room tracks no carriers", name)
	}
	var dueAt time.Time
	if cmd.Due != "" {
		t, err := time.Parse(time.RFC3339, cmd.Due)
		if err != nil {
			return nil, gateway.Errorf(gateway.EINVALID, "%s: due: %q is not an RFC 3339 time", name, cmd.Due)
		}
		dueAt = t
	}
	loan := func(l *gateway.SignOut, err error) (map[string]any, error) {
		if err != nil {
			return nil, err
		}
		if l.Step != nil { // a leader's approval of a step of the carrier's life
			return stepReply(l.Step, nil)
		}
		if l.IsWaiting() { // top secret: the second person confirms with carrier/approve
			return map[string]any{"done": false, "carrier": l.Carrier, "borrower": l.Borrower, "waiting_for": l.Waiting}, nil
		}
		m := map[string]any{"done": true, "sign_out": l.ID, "carrier": l.Carrier, "borrower": l.Borrower, "due": l.Due.Format(gateway.TimeFormat),
			"may_leave": l.MayLeave, "approved": l.Approved()}
		if !l.ReturnedAt.IsZero() {
			m["returned_at"] = l.ReturnedAt.Format(gateway.TimeFormat)
			m["late"] = l.ReturnedAt.After(l.Due)
		}
		return m, nil
	}
	summary := func(r *gateway.InventoryReport, err error) (map[string]any, error) {
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		return m, nil
	}
	switch name {
	case "carriers/replace":
		return c.t.Carriers.ReplaceCarriers(cmd.CSV, cmd.Version, cmd.By)
	case "carrier/signout":
		return loan(c.t.Carriers.SignOut(gateway.SignOutRequest{Carrier: cmd.Carrier, Borrower: cmd.Borrower, Second: cmd.Second,
			Purpose: cmd.Purpose, Due: dueAt, MayLeave: cmd.MayLeave, Approver: cmd.Approver, By: cmd.By, Via: via}))
	case "carrier/approve":
		return loan(c.t.Carriers.Approve(cmd.Carrier, cmd.By, via))
	case "carrier/return":
		return loan(c.t.Carriers.Return(cmd.Carrier, cmd.By, via))
	case "carrier/archive":
		return stepReply(c.t.Carriers.End(name, gateway.EndRequest{Carriers: cmd.Carriers, To: cmd.Archive, Ref: cmd.Ref, By: cmd.By, Via: via}))
	case "carrier/return-to-issuer":
		return stepReply(c.t.Carriers.End(name, gateway.EndRequest{Carriers: cmd.Carriers, To: cmd.Issuer, Ref: cmd.Ref, By: cmd.By, Via: via}))
	case "carrier/destroy":
		return stepReply(c.t.Carriers.End(name, gateway.EndRequest{Carriers: cmd.Carriers, Method: cmd.Method, Approver: cmd.Approver,
			Witnesses: cmd.Witnesses, By: cmd.By, Via: via}))
	case "carrier/circulate":
		return stepReply(c.t.Carriers.Circulate(gateway.CirculateRequest{Carrier: cmd.Carrier, Reader: cmd.Reader, Due: dueAt,
			InRoom: cmd.InRoom, By: cmd.By, Via: via}))
	case "carrier/confirm":
		return stepReply(c.t.Carriers.Confirm(cmd.Step, cmd.Carrier, cmd.By, via))
	case "carrier/copy":
		return stepReply(c.t.Carriers.Copy(gateway.CopyRequest{Carrier: cmd.Carrier, Excerpt: cmd.Excerpt, EPCs: cmd.EPCs,
			Purpose: cmd.Purpose, Approver: cmd.Approver, By: cmd.By, Via: via}))
	case "custody/transfer":
		return stepReply(c.t.Carriers.Transfer(gateway.TransferRequest{From: cmd.Outgoing, To: cmd.Incoming, By: cmd.By, Via: via}))
	case "carrier/receive":
		r := cmd.Receipt
		r.By = cmd.By
		copies, err := c.t.Carriers.Receive(r)
		if err != nil {
			return nil, err
		}
		if len(copies) == 0 { // the tags come at the reader: carrier.tag_bound, then carrier.received
			return map[string]any{"binding": true, "reader": r.BindAt, "copies": r.Copies}, nil
		}
		ids := make([]string, len(copies))
		for i, k := range copies {
			ids[i] = k.ID
		}
		return map[string]any{"document": copies[0].Document, "copies": ids}, nil
	case "carrier/loss":
		if err := c.t.Carriers.ReportLoss(cmd.Carrier, cmd.By, cmd.Detail); err != nil {
			return nil, err
		}
		return map[string]any{"carrier": cmd.Carrier, "status": string(gateway.CarrierLost)}, nil
	case "carrier/extend":
		return loan(c.t.Carriers.Extend(cmd.Carrier, dueAt, cmd.Approver, cmd.By, via))
	case "inventory/run":
		return summary(c.t.Carriers.Inventory(gateway.InventoryCommand, cmd.By))
	case "inventory/show":
		r, err := c.t.Carriers.InventoryReport(cmd.Report)
		if err == nil && r == nil {
			err = gateway.Errorf(gateway.ENOTFOUND, "%s: no inventory report %q", name, cmd.Report)
			if cmd.Report == "" {
				err = gateway.Errorf(gateway.ENOTFOUND, "%s: no inventory has been taken yet", name)
			}
		}
		return summary(r, err)
	}
	return nil, gateway.Errorf(gateway.ENOTFOUND, "unknown command %q", name)
}

// maintenance carries out the maintenance visits' commands.
func (c *Commands) maintenance(name, via string, cmd command) (map[string]any, error) {
	switch name {
	case "maintenance/request":
		start, err1 := time.Parse(time.RFC3339, cmd.Start)
		end, err2 := time.Parse(time.RFC3339, cmd.End)
		if err := errors.Join(err1, err2); err != nil {
			return nil, gateway.Errorf(gateway.EINVALID, "%s: start, end: RFC 3339 times (%v)", name, err)
		}
		id, err := c.t.Maintenance.RequestMaintenance(gateway.MaintenanceRequest{Company: cmd.Company, Equipment: cmd.Equipment,
			Technicians: cmd.Technicians, From: start, Until: end, Custodian: cmd.Custodian, Approver: cmd.Approver, By: cmd.By, Via: via})
		if err != nil {
			return nil, err
		}
		return map[string]any{"maintenance": id, "done": false, "waiting_for": cmd.Approver}, nil
	case "maintenance/approve":
		visits, err := c.t.Maintenance.ApproveMaintenance(cmd.Maintenance, cmd.By, via)
		if err != nil {
			return nil, err
		}
		return map[string]any{"maintenance": cmd.Maintenance, "done": true, "visits": visits}, nil
	}
	if err := c.t.Maintenance.CloseMaintenance(cmd.Maintenance, cmd.Media, cmd.Note, cmd.By); err != nil {
		return nil, err
	}
	return map[string]any{"maintenance": cmd.Maintenance, "closed": true}, nil
}

// stepReply is the reply to a step of a carrier's life: done, or waiting
// for the people it names.
func stepReply(p *gateway.Pending, err error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	m := map[string]any{"step": p.ID, "op": p.Op, "done": p.Done, "carriers": p.Carriers}
	if w := p.Waiting(); len(w) > 0 {
		m["waiting_for"] = w
	}
	if p.Ref != "" {
		m["ref"] = p.Ref
	}
	return m, nil
}

// via names the channel a command came through: the principal that signed
// it and, for a console, the session it says (it signs that too).
func via(principal, session string) string {
	if session == "" {
		return principal
	}
	return principal + "/" + session
}

// limit is the longest payload command name may have.
func (c *Commands) limit(name string) int {
	switch name {
	case "personnel/replace":
		return gateway.RegisterBytes(c.limits.Persons)
	case "carriers/replace":
		return gateway.RegisterBytes(c.limits.Carriers)
	}
	return gateway.CommandBytes
}
