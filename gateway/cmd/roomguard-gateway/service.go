package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"

	"github.com/roomguard/roomguard/devices/modem"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/notify"
	"github.com/roomguard/roomguard/gateway/systemd"
)

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
