package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roomguard/roomguard/devices/gpiohost"
	"github.com/roomguard/roomguard/devices/relay"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/cli"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/hardware"
	"github.com/roomguard/roomguard/gateway/homeassistant"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/notify"
	"github.com/roomguard/roomguard/gateway/room"
	"github.com/roomguard/roomguard/gateway/service"
	"github.com/roomguard/roomguard/gateway/sim"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/systemd"
	"github.com/roomguard/roomguard/gateway/wire"
	"periph.io/x/conn/v3/gpio"
)

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	path := fs.String("config", defaultConfig, "room config file")
	simulate := fs.Bool("sim", false, "simulate the room: pins and serial ports are simulated, driven over MQTT")
	firmware := fs.String("board-firmware", "", "with --sim: a directory with the board firmware and its emulator (make firmware builds them in bin/); each board then runs the real firmware in simavr. Without it the boards are absent")
	db := fs.String("db", "", "event log file, instead of the config's storage path")
	listen := fs.String("listen", "", "embedded broker address, instead of the config's (port 0: any free port)")
	tail := fs.Bool("tail", false, "print every event to standard output as it is logged")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json (one JSON object a line); under systemd each line carries its journald priority")
	httpAddr := fs.String("http", "127.0.0.1:9480", "where /healthz, /readyz and /metrics answer (loopback by default; off: none)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof reads it): what a rate costs, measured before it is concluded")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return errors.Join(fmt.Errorf("--cpuprofile: %w", err), f.Close())
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintf(stderr, "--cpuprofile: %v\n", err)
			}
		}()
	}
	var logLvl slog.Level
	if err := logLvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if _, err := cli.Logger(io.Discard, *logFormat, *logLevel); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if *db != "" {
		cfg.Storage.Path = *db
	}
	if *listen != "" {
		if cfg.MQTT.External() {
			return fmt.Errorf("--listen: the config uses the external broker %s", cfg.MQTT.URL)
		}
		if err := cfg.MQTT.CheckListen(*listen); err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		cfg.MQTT.Embedded.Listen = *listen
	}
	if *firmware != "" && !*simulate {
		return fmt.Errorf("--board-firmware: only with --sim")
	}
	d, err := startDaemon(cfg, daemonOpts{Sim: *simulate, Firmware: *firmware, Tail: *tail, LogLevel: logLvl, LogFormat: *logFormat, HTTP: *httpAddr, Stdout: stdout, Stderr: stderr})
	if err != nil {
		return err
	}
	<-ctx.Done()
	d.Stop()
	return nil
}

// A relay drives the room's outputs (devices stay below the room: the
// assertion lives where the two are wired).
var _ gateway.OutputDriver = (*relay.Dev)(nil)

type daemonOpts struct {
	Clock    gateway.Clock // nil: the system clock
	Sim      bool
	Firmware string // with Sim: the board firmware and its emulator
	Tail     bool
	LogLevel slog.Level
	// LogFormat is text (the default) or json.
	LogFormat string
	// HTTP is where /healthz and /readyz answer; empty or off: nowhere.
	HTTP   string
	Stdout io.Writer
	Stderr io.Writer
}

// daemon is a running gateway: everything run wires together.
type daemon struct {
	cfg     *config.Config
	log     *slog.Logger
	store   *sqlite.Store
	room    *room.Room
	devices *hardware.Devices
	session *mqtt.Session
	sim     *sim.Room // nil unless simulated
	health  string    // where /healthz, /readyz and /metrics answer, when they do
	metrics *service.Metrics
	closers []func() error // undone in reverse order by Stop

	bgWG                 sync.WaitGroup
	stopSession, stopPub context.CancelFunc
	stopTail             context.CancelFunc
	tailDone             chan struct{}

	stopOnce  sync.Once
	stopPrune context.CancelFunc // ends the daily work (service.Jobs)
	roomKey   ed25519.PublicKey  // the room's: its checkpoints are signed with it
	pruneWG   sync.WaitGroup
	jobs      *service.Jobs
	// deliveries carries the call-down's records to the room, built
	// after the notifier (the room's alarms reach the notifier).
	deliveries *service.Deliveries
}

// startDaemon opens the log, the pins and the broker connection, and starts
// reading inputs and publishing. On error everything opened is closed again.
func startDaemon(cfg *config.Config, o daemonOpts) (_ *daemon, err error) {
	log, err := cli.Logger(o.Stderr, o.LogFormat, o.LogLevel.String())
	if err != nil {
		return nil, err
	}
	d := &daemon{cfg: cfg, log: log, deliveries: service.NewDeliveries()}
	defer func() {
		if err != nil {
			if d.room != nil {
				d.room.StopTimers()
			}
			var stopped error
			if d.devices != nil {
				stopped = d.devices.StopReaders()
			}
			if cerr := errors.Join(stopped, d.close()); cerr != nil {
				log.Error("not all closed after a failed start", "err", cerr)
			}
		}
	}()
	var clock gateway.Clock = sysclock.New(sysclock.Trust(cfg.Clock.Trust))
	if o.Clock != nil {
		clock = o.Clock
	}

	// The pins first: a room whose wiring does not match its config fails
	// here, before anything listens or is written.
	openPin, err := d.openSim(cfg, o)
	if err != nil {
		return nil, err
	}
	if d.devices, err = hardware.Open(cfg, hardware.Opts{Clock: clock, OpenPin: openPin, Path: d.simPath, Log: log.With("part", "devices")}); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, d.devices.HaltOutputs)

	if d.store, err = sqlite.Open(cfg.Storage.Path, cfg.Room.ID, clock); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, d.store.Close)
	// The room's own key signs its log's checkpoints; created at the first
	// start next to the log, readable by the gateway's user only.
	roomKey, _, err := wire.LoadOrCreateKey(wire.RoomKeyPath(cfg.Storage.Path))
	if err != nil {
		return nil, err
	}
	d.store.SignCheckpointsWith(roomKey)
	d.roomKey = roomKey.Public().(ed25519.PublicKey)
	key, err := loadKey(keyFile(cfg))
	if err != nil {
		return nil, err
	}

	// The broker.
	brokerURL, username, password, err := d.startBroker(cfg, o)
	if err != nil {
		return nil, err
	}
	d.session, err = mqtt.NewSession(mqtt.SessionOpts{
		Conn: wire.Conn{URL: brokerURL, ClientID: cfg.MQTT.ClientID, Username: username, Password: password,
			CAFile: cfg.MQTT.CAFile, CertFile: cfg.MQTT.CertFile, KeyFile: cfg.MQTT.KeyFile,
			KeepAlive: cfg.MQTT.KeepAlive.D()},
		Room: cfg.Room.ID, Name: cfg.Room.Name, Location: cfg.Room.Location,
		Version: version, Sim: o.Sim, Clock: clock, Log: log.With("part", "mqtt"),
		Prover: &mqtt.Prover{Room: cfg.Room.ID, Key: roomKey, Head: d.store.Head},
		Names:  cfg.DeviceNames(), Holidays: statusHolidays(cfg.WorkSchedule()),
		HomeAssistant: cfg.HomeAssistantPrefix(),
	})
	if err != nil {
		return nil, err
	}
	states := mqtt.NewRetained(d.session)
	if ha, ok := cfg.HomeAssistantRoom(version); ok {
		// Entities the last start described and the config no longer has
		// are removed; the list is kept next to the log.
		if err := homeassistant.Publish(ha, cfg.Storage.Path+".homeassistant", states.Set); err != nil {
			log.Warn("Home Assistant's discovery: entities gone from the config may stay", "err", err)
		}
	}
	rc := room.Config{ID: cfg.Room.ID, Panel: cfg.Panel(), Access: cfg.AccessConfig(), Safes: cfg.SafeConfigs(),
		Schedule: cfg.WorkSchedule(), NotSecured: true, Inventory: -1, Key: key, Commands: cfg.Commands(), Climate: cfg.ClimateLimits()}
	if vc, ok := cfg.VaultConfig(); ok {
		rc.Vault = &vc
		if at, ok := cfg.InventoryAt(); ok {
			rc.Inventory = at
		}
	}
	// The call-down (notify:) sees every alarm as it is published, in front
	// of the retained publisher; its deliveries go into the room's log.
	var sink room.Sink = states
	var notifier *notify.Notifier
	if cfg.Notify != nil {
		channels, err := notifyChannels(cfg, d.devices.Modem())
		if err != nil {
			return nil, err
		}
		notifier = notify.New(cfg.NotifyConfig(), clock, d.deliveries, channels, states)
		sink = notifyingSink{states, notifier}
	}
	d.room = room.New(rc, d.store, clock, sink, log.With("part", "room"))
	// The call-down a console replaced last stands (when the config still
	// fits it); calldown/replace replaces it in a change of the room.
	var cd *service.Calldown
	if notifier != nil {
		cd = &service.Calldown{Registers: d.room, Room: cfg.Room.ID, Means: wire.Means{Modem: cfg.Notify.Modem != nil, SMTP: cfg.Notify.SMTP != nil},
			Webhooks: map[string]bool{}, Store: d.store, Notifier: notifier, Retained: states, Clock: clock}
		for _, p := range cfg.Notify.People {
			cd.Webhooks[p.ID] = p.Webhook != nil
		}
		if err := cd.Load(log); err != nil {
			return nil, err
		}
	}
	recorded, err := d.store.DeviceStates()
	if err != nil {
		return nil, err
	}
	if err := d.devices.Add(d.room, recorded); err != nil {
		return nil, err
	}
	// Who the room believes: its principals, and its own command line,
	// whose key is created next to the log at the first start.
	signKey, created, err := wire.LoadOrCreateKey(wire.LocalKeyPath(cfg.Storage.Path))
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("command line key created", "path", wire.LocalKeyPath(cfg.Storage.Path))
	}
	if cfg.AcceptUnsigned && !o.Sim {
		return nil, fmt.Errorf("%s: accept_unsigned: only a simulated room (run --sim) may take unsigned commands", cfg.Source)
	}
	d.metrics = service.NewMetrics(service.Metrics{Room: d.room, Log: d.store, Session: d.session, Clock: clock,
		Devices: d.devices, Notifications: d.deliveries,
		Storage: func() (uint64, uint64, error) { return sqlite.DiskSpace(cfg.Storage.Path) }})
	refused := func(principal, cmd, code, detail string) error {
		d.metrics.Refused(code)
		return d.room.Refused(principal, cmd, code, detail)
	}
	// Home Assistant's arming signs as a principal of its own, trusted
	// with arm alone; its key is made next to the log like the command
	// line's.
	var haKey ed25519.PrivateKey
	var haPublic ed25519.PublicKey
	if cfg.HomeAssistantArms() {
		if haKey, _, err = wire.LoadOrCreateKey(wire.HomeAssistantKeyPath(cfg.Storage.Path)); err != nil {
			return nil, err
		}
		haPublic = haKey.Public().(ed25519.PublicKey)
	}
	auth := &mqtt.Auth{Room: cfg.Room.ID, Principals: cfg.TrustedPrincipals(signKey.Public().(ed25519.PublicKey), haPublic), Unsigned: cfg.AcceptUnsigned,
		Clock: clock, Nonces: d.store, Started: clock.Now(), Refused: refused, Log: log.Warn}
	if err := auth.Load(); err != nil {
		return nil, err
	}
	// What the commands act on, all known before they are taken.
	ac := &service.Personnel{Access: d.room.Access, Registers: d.room, Store: d.store, Limits: cfg.Limits.Room(), Retained: states, Room: cfg.Room.ID, Clock: clock}
	targets := mqtt.Targets{Room: d.room.Sealer, Authorizer: d.room, Events: d.store, Access: ac, Keys: d.room, Maintenance: d.room}
	if cd != nil {
		targets.Calldown = cd
	}
	if len(cfg.Boards) > 0 {
		targets.Safes, targets.SafeGate = d.devices, d.room
	}
	if cc, err := d.carriers(cfg, clock, states); err != nil {
		return nil, err
	} else if cc != nil {
		targets.Carriers = cc
	}
	commands := mqtt.NewCommands(d.session, targets, cfg.Limits.Room(), auth)
	if haKey != nil {
		bridge := &homeassistant.Bridge{Room: cfg.Room.ID, Codes: cfg.HomeAssistant.Arm.Codes,
			Signer:  &wire.Signer{Principal: homeassistant.Principal, Key: haKey, Clock: clock},
			Execute: commands.Execute, Refused: refused, Log: log.With("part", "homeassistant")}
		d.session.Subscribe(homeassistant.CommandTopic(cfg.HomeAssistantPrefix(), cfg.Room.ID), bridge.Handle)
	}
	if ri, err := d.store.Register(); err != nil {
		return nil, err
	} else {
		ac.Publish(ri)
	}

	d.simTopics()

	if err := d.room.Start(version, o.Sim); err != nil {
		return nil, err
	}
	d.jobs = &service.Jobs{ID: cfg.Room.ID, Key: d.roomKey, Room: d.room, Store: d.store, Clock: clock, Log: log}
	if err := d.jobs.CheckChain(); err != nil {
		return nil, err
	}
	if _, err := d.room.Checkpoint(); err != nil { // the head the room starts from, signed
		return nil, err
	}
	dailyCtx := d.startJobs(cfg)
	log.Info("gateway started", "room", cfg.Room.ID, "sim", o.Sim, "log", cfg.Storage.Path, "broker", brokerURL, "clock_trusted", clock.Trusted())
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}

	// Background work, in the order Stop ends it: the devices first (no new
	// events), then the publishers (after a short drain), then the session.
	d.devices.Start(d.room)
	var sessionCtx, pubCtx context.Context
	sessionCtx, d.stopSession = context.WithCancel(context.Background())
	pubCtx, d.stopPub = context.WithCancel(context.Background())
	d.bgWG.Add(3)
	go func() { defer d.bgWG.Done(); d.session.Run(sessionCtx) }()
	publisher := mqtt.NewPublisher(d.session, d.store)
	publisher.Drained = states.Vouch
	go func() {
		defer d.bgWG.Done()
		if err := publisher.Run(pubCtx); err != nil {
			log.Error("publisher stopped", "err", err)
		}
	}()
	go func() { defer d.bgWG.Done(); states.Run(pubCtx) }()
	d.bgWG.Go(func() { states.Heartbeat(pubCtx) })
	d.pruneWG.Go(func() { d.serviceReady(dailyCtx, cfg.Room.ID) })
	if err := d.startTail(o); err != nil {
		return nil, err
	}
	if o.HTTP != "" && o.HTTP != "off" {
		if err := d.serveHealth(o.HTTP, log); err != nil {
			d.Stop()
			return nil, err
		}
	}
	return d, nil
}

// Stop ends the daemon in order: inputs, a last event, a short drain of the
// outbox, the publishers, the session, then the log and the broker.
func (d *daemon) Stop() { d.stopOnce.Do(d.stop) }

func (d *daemon) stop() {
	d.log.Info("stopping")
	if err := systemd.FromEnv().Notify("STOPPING=1"); err != nil {
		d.log.Warn("systemd not told of the stop", "err", err)
	}
	if err := d.devices.StopReaders(); err != nil {
		d.log.Error("readers and boards not all stopped", "err", err)
	}
	d.room.StopTimers()
	if d.stopPrune != nil {
		d.stopPrune()
		d.pruneWG.Wait()
	}
	if err := d.devices.HaltInputs(); err != nil {
		d.log.Error("inputs not all halted", "err", err)
	}
	// The room's last change turns its outputs off with gateway.stopped,
	// the last thing logged, so the drain below publishes everything
	// (issue 16: output.off came after the publisher); the pins are then
	// let go whatever the log said.
	if _, err := d.room.Checkpoint(); err != nil { // everything before the stop, signed
		d.log.Error("stop checkpoint not logged", "err", err)
	}
	if err := d.room.Stop("shutdown"); err != nil {
		d.log.Error("stop not logged", "err", err)
	}
	if err := d.devices.HaltOutputs(); err != nil {
		d.log.Error("outputs not all turned off", "err", err)
	}
	drain(d.store, 3*time.Second)
	d.stopTail()
	<-d.tailDone
	d.stopPub()
	d.stopSession()
	d.bgWG.Wait()
	if err := d.close(); err != nil {
		d.log.Error("not all closed", "err", err)
	}
}

func (d *daemon) close() error {
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	d.closers = nil
	return errors.Join(errs...)
}

// drain waits, up to max, for the publisher to have sent everything logged.
func drain(store *sqlite.Store, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		last, err1 := store.LastSeq()
		pub, err2 := store.PublishedSeq()
		if err1 != nil || err2 != nil || pub >= last {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openSim builds the simulated room when o asks for one (its pins, its
// serial lines on pseudo-terminals, its boards) and returns how the
// devices open a pin: the simulated bank, or the Pi's.
func (d *daemon) openSim(cfg *config.Config, o daemonOpts) (func(string) (gpio.PinIO, error), error) {
	if !o.Sim {
		return gpiohost.Open, nil
	}
	var err error
	if d.sim, err = sim.NewWith(cfg, sim.Opts{Firmware: o.Firmware, Stderr: o.Stderr}); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, d.sim.Close)
	for _, p := range d.sim.Ports {
		switch {
		case p.Emulator != "":
			fmt.Fprintf(o.Stdout, "sim board %s: the firmware on an emulated %s, its UART on %s\n", p.Device, p.Emulator, p.GatewayPath)
		case p.Kind == "board":
			fmt.Fprintf(o.Stdout, "sim board %s: absent (no --board-firmware), its line %s silent\n", p.Device, p.GatewayPath)
		default:
			fmt.Fprintf(o.Stdout, "sim serial %s (%s): gateway %s, device side %s\n", p.Device, p.Kind, p.GatewayPath, p.DevicePath)
		}
	}
	return d.sim.Bank.Pin, nil
}

// startBroker starts the embedded broker unless the config names an
// external one, and returns the broker the gateway connects to, as whom.
func (d *daemon) startBroker(cfg *config.Config, o daemonOpts) (brokerURL, username, password string, err error) {
	brokerURL, username, password = cfg.MQTT.BrokerURL(), cfg.MQTT.Username, cfg.MQTT.Password.Reveal()
	if cfg.MQTT.External() {
		return brokerURL, username, password, nil
	}
	var users []mqtt.BrokerUser
	for _, u := range cfg.MQTT.Embedded.Users {
		users = append(users, mqtt.BrokerUser{Username: u.Username, Password: u.Password.Reveal(), Role: u.Role})
	}
	// mochi narrates every start and stop at info; only its warnings matter here.
	brokerLog, err := cli.Logger(o.Stderr, o.LogFormat, max(o.LogLevel, slog.LevelWarn).String())
	if err != nil {
		return "", "", "", err
	}
	bo := mqtt.BrokerOpts{Addr: cfg.MQTT.Embedded.Listen, Users: users, Room: cfg.Room.ID, MaxPacket: cfg.Limits.Room().PacketBytes(),
		Anonymous: o.Sim, Log: brokerLog.With("part", "broker")}
	if t := cfg.MQTT.Embedded.TLS; t != nil {
		bo.TLS = &mqtt.BrokerTLS{Addr: t.Listen, CertFile: t.CertFile, KeyFile: t.KeyFile}
	}
	broker, err := mqtt.StartBroker(bo)
	if err != nil {
		return "", "", "", err
	}
	d.closers = append(d.closers, broker.Close)
	broker.Reserve(cfg.MQTT.ClientID) // nobody else throws the gateway off its broker
	brokerURL, username, password = broker.URL(), broker.Self.Username, broker.Self.Password
	d.log.Info("embedded broker listening", "addr", broker.Addr())
	fmt.Fprintf(o.Stdout, "broker: %s\n", broker.URL())
	if u := broker.TLSURL(); u != "" {
		d.log.Info("embedded broker listening for TLS", "url", u)
		fmt.Fprintf(o.Stdout, "broker (TLS): %s\n", u)
	}
	return brokerURL, username, password, nil
}

// simTopics drives the simulated room from its sim/ topics: inputs, badges,
// tags and the modem's network; and says where its serial lines are.
func (d *daemon) simTopics() {
	if d.sim == nil {
		return
	}
	d.session.Subscribe(d.session.Topics().SimInputFilter(), func(topic string, payload []byte) {
		device := topic[strings.LastIndexByte(topic, '/')+1:]
		if err := d.sim.Drive(device, payload); err != nil {
			d.log.Warn("sim input ignored", "topic", topic, "err", err)
		}
	})
	d.session.Subscribe(d.session.Topics().SimModemFilter(), func(topic string, payload []byte) {
		what := topic[strings.LastIndexByte(topic, '/')+1:]
		if err := d.sim.DriveModem(what, payload); err != nil {
			d.log.Warn("sim modem ignored", "topic", topic, "err", err)
		}
	})
	d.session.Subscribe(d.session.Topics().SimBadgeFilter(), func(topic string, payload []byte) {
		reader := topic[strings.LastIndexByte(topic, '/')+1:]
		if err := d.sim.Present(reader, payload); err != nil {
			d.log.Warn("sim badge ignored", "topic", topic, "err", err)
		}
	})
	d.session.Subscribe(d.session.Topics().SimTagsFilter(), func(topic string, payload []byte) {
		parts := strings.Split(topic, "/")
		reader, ant := parts[len(parts)-2], parts[len(parts)-1]
		antenna, err := strconv.Atoi(ant)
		if err == nil {
			err = d.sim.Tags(reader, antenna, payload)
		} else {
			err = fmt.Errorf("antenna %q is not a number", ant)
		}
		if err != nil {
			d.log.Warn("sim tags ignored", "topic", topic, "err", err)
		}
	})
	ports := d.sim.PortsPayload()
	d.session.OnUp(func(uint64) {
		d.session.Client().Publish(d.session.Topics().SimPorts(), 1, true, ports)
	})
}

// startJobs runs the work beside the room (service.Jobs) until Stop: the
// whole chain verified daily, the hourly checkpoint, the prune past the
// retention, the backup, the storage watch. It returns their context.
func (d *daemon) startJobs(cfg *config.Config) context.Context {
	var ctx context.Context
	ctx, d.stopPrune = context.WithCancel(context.Background())
	d.pruneWG.Go(func() { d.deliveries.Run(ctx, d.room) })
	d.pruneWG.Go(func() { d.jobs.VerifyDaily(ctx) })
	d.pruneWG.Go(func() { d.jobs.CheckpointHourly(ctx) })
	if days := cfg.Ret.Days; days > 0 {
		d.pruneWG.Go(func() { d.jobs.PruneDaily(ctx, days) })
	}
	if b := cfg.Storage.Backup; b != nil {
		d.pruneWG.Go(func() { d.jobs.BackupDaily(ctx, cfg.Storage.Path, b) })
	}
	d.pruneWG.Go(func() {
		d.jobs.WatchStorage(ctx, cfg.Storage, func() (uint64, uint64, error) { return sqlite.DiskSpace(cfg.Storage.Path) })
	})
	return ctx
}

// startTail follows the log on the standard output when --tail asks.
func (d *daemon) startTail(o daemonOpts) error {
	var tailCtx context.Context
	tailCtx, d.stopTail = context.WithCancel(context.Background())
	d.tailDone = make(chan struct{})
	if o.Tail {
		last, err := d.store.LastSeq()
		if err != nil {
			return err
		}
		from := uint64(0)
		if last > 20 {
			from = last - 20
		}
		go func() {
			defer close(d.tailDone)
			if err := follow(tailCtx, d.store.Reader, from, o.Stdout, false); err != nil && tailCtx.Err() == nil {
				d.log.Error("--tail stopped", "err", err)
			}
		}()
	} else {
		close(d.tailDone)
	}
	return nil
}

// statusHolidays is the room's holiday calendar as its status says it.
func statusHolidays(ws gateway.WorkSchedule) []wire.StatusHoliday {
	var out []wire.StatusHoliday
	for _, h := range ws.Holidays {
		out = append(out, wire.StatusHoliday{Name: h.Name, From: h.From.Format(time.DateOnly), To: h.To.Format(time.DateOnly)})
	}
	return out
}

// serveHealth answers /healthz and /readyz on addr until Stop.
func (d *daemon) serveHealth(addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--http: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", d.metrics.Handler())
	mux.Handle("/", &service.Health{Room: d.room, Log: d.store, Session: d.session, Logger: log})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	d.health = ln.Addr().String()
	go func() { // ends at the Shutdown among the closers (not waited for with the background work)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health endpoint stopped", "err", err)
		}
	}()
	d.closers = append(d.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return hs.Shutdown(ctx)
	})
	log.Info("health endpoints", "addr", d.health)
	return nil
}
