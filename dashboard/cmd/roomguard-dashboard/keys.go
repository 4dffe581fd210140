package main

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"strings"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// defaultPrincipal is the console's name in the rooms' configs.
const defaultPrincipal = "console"

// consoleKey reads the console's signing key, next to its database, for
// principal, creating it (mode 0600) at the first use and saying so on w.
func consoleKey(db, principal string, w io.Writer) (ed25519.PrivateKey, error) {
	if err := gateway.CheckPrincipalName(principal); err != nil {
		return nil, fmt.Errorf("--principal: %w", err)
	}
	key, created, err := wire.LoadOrCreateKey(wire.LocalKeyPath(db))
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(w, "created the console's key %s (mode 0600: keep it so); enroll it in each room: roomguard-dashboard keys\n", wire.LocalKeyPath(db))
	}
	return key, nil
}

// keys prints the console's principal as a room's config lists it,
// creating its key when it has none yet.
func keys(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys", stderr)
	db := fs.String("db", defaultDB, "the dashboard's database (its key is next to it)")
	principal := fs.String("principal", defaultPrincipal, "the console's name in the rooms' configs (serve --principal)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	key, err := consoleKey(*db, *principal, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# add to each room's config (principals:), then restart its gateway\n")
	pub := gateway.FormatPublicKey(key.Public().(ed25519.PublicKey))
	fmt.Fprintf(stdout, "  - {name: %s, key: %q, commands: [\"*\"]}\n", *principal, pub)
	fmt.Fprintf(stdout, "# and, with a second console on the same broker, to its serve's flags:\n")
	fmt.Fprintf(stdout, "#   --peer %s=%s\n", *principal, pub)
	return nil
}

// pairs is a repeatable NAME=VALUE flag.
type pairs map[string]string

func (p pairs) String() string { return fmt.Sprint(map[string]string(p)) }

func (p pairs) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" || value == "" {
		return fmt.Errorf("%q is not NAME=VALUE", s)
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("%s given twice", name)
	}
	p[name] = value
	return nil
}

// peerKeys reads --peer's keys.
func peerKeys(p pairs) (map[string]ed25519.PublicKey, error) {
	out := map[string]ed25519.PublicKey{}
	for name, k := range p {
		if err := gateway.CheckPrincipalName(name); err != nil {
			return nil, fmt.Errorf("--peer %s: %w", name, err)
		}
		key, err := gateway.ParsePublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("--peer %s: %w", name, err)
		}
		out[name] = key
	}
	return out, nil
}
