package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"strings"

	"github.com/roomguard/roomguard/devices/modem"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/notify"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/systemd"
	"github.com/roomguard/roomguard/gateway/wire"
)

// checkpointHourly signs the chain's head every gateway.CheckpointPeriod
// when events were logged since the last checkpoint: a quiet room's few
// events do not wait for the thousandth to be signed in its log.
func (d *daemon) checkpointHourly(ctx context.Context, clock gateway.Clock) {
	signed, _ := d.store.Head()
	for wait(ctx, clock, gateway.CheckpointPeriod) {
		if seq, _ := d.store.Head(); seq == signed {
			continue
		}
		seq, err := d.room.Checkpoint()
		if err != nil {
			d.room.Fault("the hourly checkpoint of the log", err)
			continue
		}
		signed = seq
	}
}

// serviceReady tells systemd (Type=notify) the gateway is ready once its log
// is open and its broker session is up, then pings the watchdog (WatchdogSec)
// for as long as the room's parts and the log's writer answer: a stuck
// engine is restarted, not kept alive by a timer.
func (d *daemon) serviceReady(ctx context.Context, room string) {
	n := systemd.FromEnv()
	if !n.Enabled() {
		return
	}
	if !d.session.WaitUp(ctx) {
		return
	}
	if err := n.Notify("READY=1\nSTATUS=guarding room " + room); err != nil {
		d.log.Error("systemd not told the gateway is ready", "err", err)
	}
	if every, ok := systemd.WatchdogInterval(); ok {
		n.Watch(ctx, every, func() error { return errors.Join(d.room.Alive(), d.store.Ping()) }, func(err error) {
			d.log.Error("the watchdog's check failed: no ping", "err", err)
		})
	}
}

// notifyingSink is the retained publisher with the call-down in front of
// its alarms.
type notifyingSink struct {
	*mqtt.Retained
	notify *notify.Notifier
}

func (s notifyingSink) Alarm(id string, payload json.RawMessage) { s.notify.Alarm(id, payload) }

// roomLog logs the call-down's deliveries through the room (built after it).
type roomLog struct{ d *daemon }

func (l roomLog) Log(ev gateway.Event) error { return l.d.room.Log(ev) }

// notifyChannels are the call-down's channels the config gives: SMS and
// calls through the modem, e-mail through its server, the webhooks.
func notifyChannels(cfg *config.Config, m *modem.Modem) (map[string]notify.Channel, error) {
	channels := map[string]notify.Channel{"webhook": notify.Hooks{Room: cfg.Room.ID}}
	if m != nil {
		maps.Copy(channels, notify.Channels(m))
	}
	if s := cfg.Notify.SMTP; s != nil {
		host, _, err := net.SplitHostPort(s.Addr)
		if err != nil {
			return nil, fmt.Errorf("notify.smtp.addr: %w", err)
		}
		tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if s.CAFile != "" {
			pem, err := os.ReadFile(s.CAFile)
			if err != nil {
				return nil, fmt.Errorf("notify.smtp.ca_file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("notify.smtp.ca_file %s: no PEM certificate in it", s.CAFile)
			}
		}
		channels["email"] = notify.Email{Addr: s.Addr, From: s.From, Username: s.Username, Password: s.Password.Reveal(), TLS: tc}
	}
	return channels, nil
}

// calldown carries out calldown/replace (mqtt.CalldownTarget): a list is
// held to the one rule of the call-down (wire.Calldown.Check, as the config
// is) against the room's channels, kept in the log, given to the notifier
// and published retained. The newest stands, across restarts.
type calldown struct {
	room     string
	means    wire.Means
	webhooks map[string]bool // the people whose group robot the config gives
	store    *sqlite.Store
	notifier *notify.Notifier
	retained *mqtt.Retained
	clock    gateway.Clock
}

func newCalldown(cfg *config.Config, store *sqlite.Store, n *notify.Notifier, retained *mqtt.Retained, clock gateway.Clock) *calldown {
	c := &calldown{room: cfg.Room.ID, means: wire.Means{Modem: cfg.Notify.Modem != nil, SMTP: cfg.Notify.SMTP != nil},
		webhooks: map[string]bool{}, store: store, notifier: n, retained: retained, clock: clock}
	for _, p := range cfg.Notify.People {
		c.webhooks[p.ID] = p.Webhook != nil
	}
	return c
}

// read decodes and checks a list a console sent (or the log kept).
func (c *calldown) read(doc json.RawMessage) (wire.Calldown, error) {
	var l wire.Calldown
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return l, gateway.Errorf(gateway.EINVALID, "calldown/replace: %v", err)
	}
	for i := range l.People {
		l.People[i].Webhook = c.webhooks[l.People[i].ID]
	}
	if problems := l.Check(c.means); len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Error()
		}
		return l, gateway.Errorf(gateway.EINVALID, "calldown/replace: %s", strings.Join(msgs, "; "))
	}
	return l, nil
}

// load puts the list a console replaced last in force, when it still fits
// the room's channels; and publishes the list in force.
func (c *calldown) load(log *slog.Logger) error {
	doc, ri, err := c.store.Calldown()
	if err != nil {
		return err
	}
	if doc != nil {
		l, err := c.read(doc)
		if err != nil { // the config changed under it: the config's stands, and says so
			log.Error("the call-down a console set no longer fits the config: the config's is in force", "version", ri.Version, "err", err)
			ri = sqlite.RegisterInfo{}
		} else {
			c.notifier.Replace(l)
		}
	}
	c.publish(ri)
	return nil
}

func (c *calldown) ReplaceCalldown(doc json.RawMessage, version int64, by string) (map[string]any, error) {
	l, err := c.read(doc)
	if err != nil {
		return nil, err
	}
	ri, err := c.store.ReplaceCalldown(doc, version, by, c.clock.Now())
	if err != nil {
		return nil, err
	}
	c.notifier.Replace(l)
	c.publish(ri)
	return map[string]any{"version": ri.Version, "people": len(l.People), "lists": len(l.Rules)}, nil
}

// publish sets the retained call-down: the list in force, whence.
func (c *calldown) publish(ri sqlite.RegisterInfo) {
	l := c.notifier.ListNow()
	p := map[string]any{"room": c.room, "version": ri.Version, "source": "config", "people": l.People, "calldown": l.Rules}
	if ri.Version > 0 {
		p["source"], p["updated_at"], p["updated_by"] = "console", ri.UpdatedAt.Format(gateway.TimeFormat), ri.UpdatedBy
	}
	c.retained.Calldown(mustJSON(p))
}
