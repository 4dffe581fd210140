package mqtt_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/roomguard/roomguard/gateway/mqtt"
)

// Issue 19, item 1: an embedded broker without accounts listens on
// loopback only, however its address is given (the config, a flag, an
// address that resolves to every interface).
func TestAnonymousBrokerOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0"} {
		b, err := mqtt.StartBroker(addr, nil, nil)
		if err == nil {
			b.Close()
			t.Errorf("an anonymous broker listened on %s", addr)
			continue
		}
		if !strings.Contains(err.Error(), "reachable from the network") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	b, err := mqtt.StartBroker("127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// With accounts, any address.
	b, err = mqtt.StartBroker("0.0.0.0:0", []mqtt.BrokerUser{{Username: "console", Password: "a long secret 12"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// Issue 19, item 2: nobody takes over the gateway's client id: a client
// that connects with it and not with the gateway's account is refused, and
// the gateway stays connected. A client connected under one account cannot
// be thrown off by another account using its id.
func TestNoClientIDTakeover(t *testing.T) {
	b, err := mqtt.StartBroker("127.0.0.1:0", []mqtt.BrokerUser{{Username: "console", Password: "a long secret 12"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	b.Reserve("roomguard-gw-r1")
	connect := func(id, user, password string) (paho.Client, error) {
		lost := make(chan struct{}, 1)
		o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID(id).SetUsername(user).SetPassword(password).
			SetAutoReconnect(false).SetConnectionLostHandler(func(paho.Client, error) { lost <- struct{}{} })
		c := paho.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(5 * time.Second) {
			return nil, errors.New("connect timed out")
		}
		return c, tok.Error()
	}
	gw, err := connect("roomguard-gw-r1", b.Self.Username, b.Self.Password)
	if err != nil {
		t.Fatalf("the gateway: %v", err)
	}
	defer gw.Disconnect(50)
	if c, err := connect("roomguard-gw-r1", "console", "a long secret 12"); err == nil {
		c.Disconnect(50)
		t.Fatal("another account took the gateway's client id")
	}
	console, err := connect("console-1", "console", "a long secret 12")
	if err != nil {
		t.Fatal(err)
	}
	defer console.Disconnect(50)
	if c, err := connect("console-1", b.Self.Username, b.Self.Password); err == nil {
		c.Disconnect(50)
		t.Fatal("an account threw another's client off")
	}
	time.Sleep(100 * time.Millisecond) // not a timing assertion: a takeover would have cut them by now
	if !gw.IsConnectionOpen() || !console.IsConnectionOpen() {
		t.Fatalf("thrown off: gateway %v, console %v", gw.IsConnectionOpen(), console.IsConnectionOpen())
	}
}
