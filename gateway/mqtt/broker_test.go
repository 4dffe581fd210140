package mqtt_test

import (
	"strings"
	"testing"

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
