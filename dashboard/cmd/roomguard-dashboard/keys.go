package main

import (
	"crypto/ed25519"
	"fmt"
	"io"

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
	fmt.Fprintf(stdout, "  - {name: %s, key: %q, commands: [\"*\"]}\n", *principal, gateway.FormatPublicKey(key.Public().(ed25519.PublicKey)))
	return nil
}
