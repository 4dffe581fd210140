package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/user"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/cli"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/wire"
)

// remote is how a command that changes something reaches the room: through
// the broker to the running gateway, the only writer of the log, which
// checks it, records it with who gave it, and answers.
type remote struct {
	cfgPath      *string
	broker       *string
	user         *string
	passwordFile *string
	by           *string
	db           *string
	timeout      *time.Duration
}

func remoteFlags(fs *flag.FlagSet, timeout time.Duration) *remote {
	return &remote{
		cfgPath:      fs.String("config", defaultConfig, "room config file (for the room, its broker and accounts)"),
		broker:       fs.String("broker", "", "broker URL (default: the config's mqtt.url, or its embedded broker)"),
		user:         fs.String("user", "", "broker account (default: the config's mqtt.username, or its only embedded user)"),
		passwordFile: fs.String("password-file", "", "the account's password file (default: the one the config names)"),
		by:           fs.String("by", operator(), "who gives the command; recorded with it"),
		db:           fs.String("db", "", "the room's event log, when run gives --db: the command line's key is next to it"),
		timeout:      fs.Duration("timeout", timeout, "how long to wait for the room's answer"),
	}
}

// operator is the login name of whoever runs the command (the one behind
// sudo when there is one).
func operator() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// link is an open connection to the room's gateway.
type link struct {
	ctx    context.Context
	cancel context.CancelFunc
	caller *mqtt.Caller
	room   string
	by     string
}

// open connects to the broker of the room the config names and checks that
// the room is online; the link's context ends after --timeout.
func (r *remote) open(ctx context.Context) (*link, error) {
	if *r.by == "" {
		return nil, fmt.Errorf("--by: who gives the command is required")
	}
	cfg, err := config.Load(*r.cfgPath)
	if err != nil {
		return nil, err
	}
	conn, err := r.conn(cfg)
	if err != nil {
		return nil, err
	}
	signer, err := r.signer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c, err := mqtt.Dial(conn)
	if err != nil {
		return nil, err
	}
	c.Signer = signer
	l := &link{caller: c, room: cfg.Room.ID, by: *r.by}
	l.ctx, l.cancel = context.WithTimeout(ctx, *r.timeout)
	if err := c.Online(l.ctx, l.room); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// signer signs as the gateway's own command line, with the key the gateway
// created next to its log (--db, or the config's storage path).
func (r *remote) signer(ctx context.Context, cfg *config.Config) (*wire.Signer, error) {
	logPath := cfg.Storage.Path
	if *r.db != "" {
		logPath = *r.db
	}
	key, err := wire.LoadKey(wire.LocalKeyPath(logPath))
	if err != nil {
		return nil, fmt.Errorf("the command line signs with the gateway's key (run it on the Pi as the gateway's user, after the gateway's first start): %w", err)
	}
	return &wire.Signer{Principal: gateway.LocalPrincipal, Key: key, Clock: clockOf(ctx)}, nil
}

type clockKey struct{}

// withClock makes the commands Main runs sign with clock: a test's room runs
// on an injected clock, and a command is fresh by the room's clock.
func withClock(ctx context.Context, clock gateway.Clock) context.Context {
	return context.WithValue(ctx, clockKey{}, clock)
}

func clockOf(ctx context.Context) gateway.Clock {
	if c, ok := ctx.Value(clockKey{}).(gateway.Clock); ok {
		return c
	}
	return sysclock.New(sysclock.TrustAlways)
}

func (l *link) close() {
	l.cancel()
	l.caller.Close()
}

// call gives one command, recorded as given by --by, and returns the result
// of a reply that says ok.
func (l *link) call(name string, cmd map[string]any) (map[string]any, error) {
	cmd["by"] = l.by
	reply, err := l.caller.Call(l.ctx, l.room, name, cmd)
	if err != nil {
		return nil, err
	}
	return reply.Result, reply.Err()
}

// call opens a link, gives one command and closes it.
func (r *remote) call(ctx context.Context, name string, cmd map[string]any) (map[string]any, error) {
	l, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	defer l.close()
	return l.call(name, cmd)
}

// conn resolves the broker and the account: flags first, then the config.
func (r *remote) conn(cfg *config.Config) (wire.Conn, error) {
	m := cfg.MQTT
	c := wire.Conn{URL: *r.broker, Username: *r.user, KeepAlive: m.KeepAlive.D()}
	if c.URL == "" {
		if m.External() {
			c.URL, c.CAFile, c.CertFile, c.KeyFile = m.URL, m.CAFile, m.CertFile, m.KeyFile
		} else {
			host, port, err := net.SplitHostPort(m.Embedded.Listen)
			if err != nil || port == "0" {
				return c, fmt.Errorf("the embedded broker listens on %q: give --broker", m.Embedded.Listen)
			}
			if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
				host = "127.0.0.1"
			}
			c.URL = "tcp://" + net.JoinHostPort(host, port)
		}
	}
	if *r.passwordFile != "" {
		if c.Username == "" {
			return c, fmt.Errorf("--password-file needs --user")
		}
		pw, err := cli.ReadSecret(*r.passwordFile)
		if err != nil {
			return c, fmt.Errorf("--password-file: %w", err)
		}
		c.Password = pw.Reveal()
		return c, nil
	}
	if m.External() {
		if c.Username == "" || c.Username == m.Username {
			c.Username, c.Password = m.Username, m.Password.Reveal()
		}
		return c, nil
	}
	users := m.Embedded.Users
	if c.Username == "" {
		switch len(users) {
		case 0:
			return c, nil // a broker on loopback without accounts
		case 1:
			c.Username = users[0].Username
		default:
			return c, fmt.Errorf("the embedded broker has %d accounts: choose one with --user", len(users))
		}
	}
	for _, u := range users {
		if u.Username == c.Username {
			c.Password = u.Password.Reveal()
			return c, nil
		}
	}
	return c, fmt.Errorf("--user %q: no such account in mqtt.embedded.users (or give --password-file)", c.Username)
}
