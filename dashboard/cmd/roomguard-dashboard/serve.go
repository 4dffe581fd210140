package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	dhttp "github.com/roomguard/roomguard/dashboard/http"
	"github.com/roomguard/roomguard/dashboard/mqtt"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway/cli"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/wire"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("serve", stderr)
	db := fs.String("db", defaultDB, "the dashboard's database (replica, accounts, audit log); the console's key is next to it")
	principal := fs.String("principal", defaultPrincipal, "the console's name in the rooms' configs (principals:), which sign its commands")
	listen := fs.String("listen", "127.0.0.1:8080", "where the console listens (e.g. 0.0.0.0:8443 on the guard LAN)")
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "the broker every room publishes to (tcp://, ssl://, mqtts://)")
	mqttUser := fs.String("user", "", "the broker account")
	passwordFile := fs.String("password-file", "", "a file holding the broker account's password")
	caFile := fs.String("ca-file", "", "the CA that signed the broker's certificate")
	certFile := fs.String("cert-file", "", "a client certificate for the broker")
	keyFile := fs.String("key-file", "", "its key")
	tlsCert := fs.String("tls-cert", "", "serve the console over HTTPS with this certificate")
	tlsKey := fs.String("tls-key", "", "and this key")
	tz := fs.String("timezone", "Local", "the time zone the console shows and reads times in (e.g. Asia/Shanghai)")
	secure := fs.Bool("secure-cookies", false, "mark cookies Secure behind a TLS proxy (on by itself with --tls-cert)")
	idle := fs.Duration("session-idle", dashboard.SessionIdle, "log an idle console out after this (a duty screen's session ignores it and lasts the shift, 12 h)")
	retention := fs.Int("retention-days", 0, "prune the replica's events older than this, daily (0: keep them all; at least 180)")
	inspectEvery := fs.Duration("inspect-every", dashboard.InspectEvery, "a room with no inspection recorded for this long is due one (shown on the overview; also a week before each holiday of its calendar)")
	metricsAddr := fs.String("metrics-listen", "127.0.0.1:9490", "where the console's Prometheus metrics answer (/metrics; loopback by default; off: none)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json (one JSON object a line); under systemd each line carries its journald priority")
	unit := fs.String("unit", "", "the office's name (单位), in the title of its printed registers")
	linger := fs.Duration("batch-linger", 0, "how long the replica waits for more live events before committing what it took (a burst is one transaction; never held past five of these; each adds to an alarm's way to the duty screen); 0: commit as soon as nothing waits")
	keyAge := fs.Duration("key-age", dashboard.KeyAge, "a safe's combination or a door's key older than this is due to be changed (shown on the carriers page and in the self-inspection report)")
	peerKeyFlags, peerURLs := pairs{}, pairs{}
	fs.Var(peerKeyFlags, "peer", "another console on the same broker, NAME=KEY as its `keys` prints it (its principal and public key); repeatable. Each tells the other what its operators did (audit, handovers)")
	fs.Var(peerURLs, "peer-url", "where a --peer console answers, NAME=URL: offered to the guard when this console is lost; repeatable")
	keepAlive := fs.Duration("keepalive", 30*time.Second, "the MQTT keepalive: a console killed is seen offline by its --peer consoles after 1.5 of these")
	accountsFrom := fs.String("accounts-from", "", "the --peer console that is the accounts' primary: this console keeps its accounts as it publishes them and refuses to change them (empty: this console is the primary)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if *keyAge < 24*time.Hour {
		return fmt.Errorf("--key-age: %s is less than a day", *keyAge)
	}
	if *retention != 0 && *retention < minRetentionDays {
		return fmt.Errorf("--retention-days: %d is shorter than the rooms' %d days (GB 50396)", *retention, minRetentionDays)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if *keepAlive < time.Second {
		return fmt.Errorf("--keepalive: %s is less than a second", *keepAlive)
	}
	conn := wire.Conn{URL: *broker, Username: *mqttUser, CAFile: *caFile, CertFile: *certFile, KeyFile: *keyFile, KeepAlive: *keepAlive}
	if *passwordFile != "" {
		if *mqttUser == "" {
			return errors.New("--password-file needs --user")
		}
		pw, err := cli.ReadSecret(*passwordFile)
		if err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
		conn.Password = pw.Reveal()
	}
	zone, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("--timezone: %w", err)
	}
	log, err := cli.Logger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	clock := sysclock.New(sysclock.TrustKernel)
	store, err := sqlite.Open(*db, clock)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()

	if *idle < time.Second {
		return fmt.Errorf("--session-idle: %s is too short", *idle)
	}
	srv := &dhttp.Server{Store: store, Clock: clock, Log: log, SecureCookies: *secure || *tlsCert != "", Zone: zone, SessionIdle: *idle, KeyAge: *keyAge, Unit: *unit, InspectEvery: *inspectEvery}
	if *idle < time.Minute { // the live stream checks its session at least twice an idle period
		srv.LiveBeat = max(*idle/2, 500*time.Millisecond)
	}
	srv.Hub = dhttp.NewHub()
	key, err := consoleKey(*db, *principal, stdout)
	if err != nil {
		return err
	}
	var peers *mqtt.PeerLink
	if len(peerKeyFlags) > 0 || *accountsFrom != "" {
		pk, err := peerKeys(peerKeyFlags)
		if err != nil {
			return err
		}
		for name := range peerURLs {
			if pk[name] == nil {
				return fmt.Errorf("--peer-url %s: not a --peer", name)
			}
		}
		peers, err = mqtt.NewPeers(mqtt.PeerOpts{Self: *principal, Key: key, Peers: pk, URLs: peerURLs, AccountsFrom: *accountsFrom,
			Store: store, Clock: clock, Log: log, Changed: srv.Hub.Peer})
		if err != nil {
			return fmt.Errorf("--peer: %w", err)
		}
		srv.Peers = peers
	}
	link, err := mqtt.Connect(mqtt.LinkOpts{Conn: conn, Store: store, Clock: clock, Log: log,
		Stored: srv.Hub.Stored, State: srv.Hub.State, Signer: &wire.Signer{Principal: *principal, Key: key, Clock: clock}, Linger: *linger, Peers: peers})
	if err != nil {
		return err
	}
	defer link.Close()
	srv.Rooms = link
	if *retention > 0 {
		pctx, stopPrune := context.WithCancel(ctx)
		pruned := make(chan struct{})
		go func() { defer close(pruned); pruneDaily(pctx, store, *retention, clock, log) }()
		defer func() { stopPrune(); <-pruned }() // before the store closes
	}
	n, err := store.CountUsers()
	if err != nil {
		return err
	}
	if n == 0 && *accountsFrom == "" { // else they come from the primary
		srv.SetupToken = setupToken()
	}
	if err := srv.Init(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s/", scheme, ln.Addr())
	fmt.Fprintf(stdout, "roomguard-dashboard %s: console at %s (broker %s)\n", version, url, *broker)
	if srv.SetupToken != "" {
		// printed, never logged: it is a one-time secret for whoever can read this terminal
		fmt.Fprintf(stdout, "no account yet: create the first admin at %ssetup?token=%s\n", url, srv.SetupToken)
		fmt.Fprintf(stdout, "  (or: roomguard-dashboard user add --db %s --role admin NAME, password on stdin)\n", *db)
	}
	if *metricsAddr != "" && *metricsAddr != "off" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", srv.MetricsHandler())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := ms.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics stopped", "err", err)
			}
		}()
		defer func() {
			if err := ms.Close(); err != nil { // the process is stopping
				log.Warn("metrics listener not closed", "err", err)
			}
		}()
		fmt.Fprintf(stdout, "metrics at http://%s/metrics\n", mln.Addr())
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			errc <- hs.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// Live streams end with the context below: a shutdown that times out
	// on them is expected, and Close ends what is left.
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown", "err", err)
	}
	if err := hs.Close(); err != nil {
		log.Warn("close", "err", err)
	}
	log.Info("stopped")
	return nil
}

func setupToken() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
