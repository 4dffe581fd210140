package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/devices/contact"
	"github.com/roomguard/roomguard/devices/gpiohost"
	"github.com/roomguard/roomguard/devices/relay"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/sim"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/sysclock"
)

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	path := fs.String("config", defaultConfig, "room config file")
	simulate := fs.Bool("sim", false, "simulate the room: pins and serial ports are simulated, driven over MQTT")
	db := fs.String("db", "", "event log file, instead of the config's storage path")
	listen := fs.String("listen", "", "embedded broker address, instead of the config's (port 0: any free port)")
	tail := fs.Bool("tail", false, "print every event to standard output as it is logged")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var logLvl slog.Level
	if err := logLvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLvl}))

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
		cfg.MQTT.Embedded.Listen = *listen
	}
	clock := sysclock.New(sysclock.Trust(cfg.Clock.Trust))
	store, err := sqlite.Open(cfg.Storage.Path, cfg.Room.ID, clock)
	if err != nil {
		return err
	}
	defer store.Close()

	// The broker.
	brokerURL, username, password := cfg.MQTT.BrokerURL(), cfg.MQTT.Username, cfg.MQTT.Password.Reveal()
	if !cfg.MQTT.External() {
		var users []mqtt.BrokerUser
		for _, u := range cfg.MQTT.Embedded.Users {
			users = append(users, mqtt.BrokerUser{Username: u.Username, Password: u.Password.Reveal()})
		}
		// mochi narrates every start and stop at info; only its warnings matter here.
		brokerLog := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: max(logLvl, slog.LevelWarn)}))
		broker, err := mqtt.StartBroker(cfg.MQTT.Embedded.Listen, users, brokerLog.With("part", "broker"))
		if err != nil {
			return err
		}
		defer broker.Close()
		brokerURL, username, password = broker.URL(), broker.Self.Username, broker.Self.Password
		log.Info("embedded broker listening", "addr", broker.Addr())
		fmt.Fprintf(stdout, "broker: %s\n", broker.URL())
	}

	// The pins.
	openPin := gpiohost.Open
	var room *sim.Room
	if *simulate {
		if room, err = sim.New(cfg); err != nil {
			return err
		}
		defer room.Close()
		openPin = room.Bank.Pin
		for _, p := range room.Ports {
			fmt.Fprintf(stdout, "sim serial %s (%s): gateway %s, device side %s\n", p.Device, p.Kind, p.GatewayPath, p.DevicePath)
		}
	}

	session, err := mqtt.NewSession(mqtt.SessionOpts{
		URL: brokerURL, ClientID: cfg.MQTT.ClientID, Username: username, Password: password,
		CAFile: cfg.MQTT.CAFile, CertFile: cfg.MQTT.CertFile, KeyFile: cfg.MQTT.KeyFile,
		KeepAlive: cfg.MQTT.KeepAlive.D(), Room: cfg.Room.ID, Name: cfg.Room.Name,
		Version: version, Sim: *simulate, Clock: clock, Log: log.With("part", "mqtt"),
	})
	if err != nil {
		return err
	}
	states := mqtt.NewStatePublisher(session)
	engine := gateway.NewEngine(cfg.Room.ID, clock, store, states)

	for _, o := range cfg.Outputs {
		pin, err := openPin(o.Pin)
		if err != nil {
			return fmt.Errorf("output %s: %w", o.ID, err)
		}
		id := o.ID
		drv, err := relay.New(pin, &relay.Opts{ActiveLevel: level(o.Active), AfterFunc: clock.AfterFunc,
			OnChange: func(on bool, pulse time.Duration) {
				if err := engine.OutputChanged(id, on, pulse); err != nil {
					log.Error("output change not logged", "output", id, "err", err)
				}
			}})
		if err != nil {
			return fmt.Errorf("output %s: %w", o.ID, err)
		}
		defer drv.Halt()
		engine.AddOutput(gateway.Output{ID: o.ID, Name: o.Name, Kind: o.Kind, Pulse: o.Pulse.D(), Driver: drv})
	}
	type input struct {
		cfg config.Input
		dev *contact.Dev
	}
	var inputs []input
	for _, in := range cfg.Inputs {
		pin, err := openPin(in.Pin)
		if err != nil {
			return fmt.Errorf("input %s: %w", in.ID, err)
		}
		dev, err := contact.New(pin, &contact.Opts{ActiveLevel: level(in.Active), Pull: pull(in.Pull),
			Debounce: in.Debounce.D(), Poll: cfg.GPIO.Poll.D(), Now: clock.Now})
		if err != nil {
			return fmt.Errorf("input %s: %w", in.ID, err)
		}
		engine.AddInput(gateway.Input{ID: in.ID, Name: in.Name, Kind: in.Kind, Strike: in.Strike}, dev.Active())
		inputs = append(inputs, input{in, dev})
	}

	if room != nil {
		session.Subscribe(session.Topics().SimInputFilter(), func(topic string, payload []byte) {
			device := topic[strings.LastIndexByte(topic, '/')+1:]
			if err := room.Drive(device, payload); err != nil {
				log.Warn("sim input ignored", "topic", topic, "err", err)
			}
		})
		ports := room.PortsPayload()
		session.OnUp(func(uint64) {
			session.Client().Publish(session.Topics().SimPorts(), 1, true, ports)
		})
	}

	if err := engine.Start(version, *simulate); err != nil {
		return err
	}
	log.Info("gateway started", "room", cfg.Room.ID, "sim", *simulate, "log", cfg.Storage.Path, "broker", brokerURL, "clock_trusted", clock.Trusted())

	// Background work, in the order it must stop: inputs first (no new
	// events), then the publishers (after a short drain), then the session.
	var inputsWG sync.WaitGroup
	for _, in := range inputs {
		inputsWG.Add(1)
		go func() {
			defer inputsWG.Done()
			in.dev.Run(func(c contact.Change) {
				if err := engine.InputChanged(in.cfg.ID, c.Active, c.At); err != nil {
					log.Error("input change not logged", "input", in.cfg.ID, "err", err)
				}
			})
		}()
	}
	sessionCtx, stopSession := context.WithCancel(context.Background())
	pubCtx, stopPub := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); session.Run(sessionCtx) }()
	publisher := mqtt.NewPublisher(session, store)
	go func() {
		defer wg.Done()
		if err := publisher.Run(pubCtx); err != nil {
			log.Error("publisher stopped", "err", err)
		}
	}()
	go func() { defer wg.Done(); states.Run(pubCtx) }()
	tailCtx, stopTail := context.WithCancel(context.Background())
	tailDone := make(chan struct{})
	if *tail {
		last, _ := store.LastSeq()
		from := uint64(0)
		if last > 20 {
			from = last - 20
		}
		go func() { defer close(tailDone); follow(tailCtx, store.Reader, from, stdout, false) }()
	} else {
		close(tailDone)
	}

	<-ctx.Done()
	log.Info("stopping")
	for _, in := range inputs {
		in.dev.Halt()
	}
	inputsWG.Wait()
	if err := engine.Stop("shutdown"); err != nil {
		log.Error("stop not logged", "err", err)
	}
	drain(store, 3*time.Second)
	stopTail()
	<-tailDone
	stopPub()
	stopSession()
	wg.Wait()
	return nil
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

func level(s string) gpio.Level { return s != "low" }

func pull(s string) gpio.Pull {
	switch s {
	case "up":
		return gpio.PullUp
	case "down":
		return gpio.PullDown
	}
	return gpio.Float
}
