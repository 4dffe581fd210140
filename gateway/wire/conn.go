package wire

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Conn is how a client reaches the broker.
type Conn struct {
	URL       string // tcp://, ssl://, tls://, mqtt://, mqtts://
	ClientID  string
	Username  string
	Password  string
	CAFile    string
	CertFile  string
	KeyFile   string
	KeepAlive time.Duration
}

// KeepAliveOrDefault is the MQTT keepalive: the configured one, or 30 s.
func (c Conn) KeepAliveOrDefault() time.Duration {
	if c.KeepAlive == 0 {
		return 30 * time.Second
	}
	return c.KeepAlive
}

// ClientOptions are paho's options for c: the broker, the account, TLS, and
// no automatic reconnection (the gateway's session reconnects by itself; a
// client that wants paho's may turn it on).
func (c Conn) ClientOptions() (*paho.ClientOptions, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("mqtt: broker url: %w", err)
	}
	broker := c.URL
	switch strings.ToLower(u.Scheme) {
	case "mqtt":
		broker = "tcp://" + u.Host
	case "mqtts", "tls":
		broker = "ssl://" + u.Host
	}
	keepAlive := c.KeepAliveOrDefault()
	po := paho.NewClientOptions().
		AddBroker(broker).
		SetClientID(c.ClientID).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetKeepAlive(keepAlive).
		SetPingTimeout(10 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetOrderMatters(false) // handlers run in their own goroutines: they cannot block paho
	if c.Username != "" {
		po.SetUsername(c.Username)
		po.SetPassword(c.Password)
	}
	if strings.HasPrefix(broker, "ssl://") {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		po.SetTLSConfig(tc)
	}
	return po, nil
}

func (o Conn) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt: ca_file %s: no PEM certificate in it", o.CAFile)
		}
		tc.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Wait waits for a token, at most 10 s, and returns its error.
func Wait(t paho.Token) error {
	if !t.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("no answer from the broker")
	}
	return t.Error()
}
