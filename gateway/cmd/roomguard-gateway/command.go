package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/cli"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/homeassistant"
	"github.com/roomguard/roomguard/gateway/wire"
)

// refusedError is a command the room answered with a refusal: the command
// line exits 3 for it (2 for any other failure).
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }

// exitCode is what the process exits with for err.
// The exit codes (docs/commands.md): 0 done (and help asked for), 1 a
// failure while running (a log that does not verify, a broker that does not
// answer, a disk that refuses), 2 bad usage or a bad config, 3 refused by
// the room.
func exitCode(err error) int {
	var r *refusedError
	var c config.Errors
	var ge *gateway.Error
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &r):
		return 3
	case cli.IsUsage(err), errors.As(err, &c), errors.As(err, &ge) && ge.Code == gateway.EINVALID:
		return 2
	}
	return 1
}

// usagef and badUsage: the shared conventions (gateway/cli).
var (
	usagef   = cli.Usagef
	badUsage = cli.BadUsage
)

// cmdCmd gives one command, its JSON as written, signed with the gateway's
// own key, and prints the reply.
func cmdCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cmd", stderr)
	r := remoteFlags(fs, 30*time.Second)
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if fs.NArg() != 2 {
		return usagef("cmd: want NAME 'JSON' (for example: cmd arm '{\"by\":\"p001\"}')")
	}
	name := fs.Arg(0)
	if !gateway.IsCommand(name) {
		return usagef("cmd: %q is not a command (%v)", name, gateway.Commands)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(fs.Arg(1)), &fields); err != nil || fields == nil {
		return fmt.Errorf("cmd %s: the command must be a JSON object: %v", name, err)
	}
	if _, ok := fields["by"]; !ok {
		fields["by"] = *r.by
	}
	return give(ctx, r, name, fields, stdout)
}

// give sends one command and prints the room's reply; a refusal is a
// refusedError.
func give(ctx context.Context, r *remote, name string, fields map[string]any, stdout io.Writer) error {
	l, err := r.open(ctx)
	if err != nil {
		return err
	}
	defer l.close()
	reply, err := l.caller.Call(l.ctx, l.room, name, fields)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(reply, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(b))
	if err := reply.Err(); err != nil {
		return &refusedError{err}
	}
	return nil
}

// panelCmd is arm, disarm, seal, unseal and ack: cmd with flags.
func panelCmd(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(name, stderr)
	r := remoteFlags(fs, 30*time.Second)
	var alarm, comment *string
	if name == "ack" {
		alarm = fs.String("alarm", "", "the alarm's id")
		comment = fs.String("comment", "", "what was found (required)")
	}
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	fields := map[string]any{"by": *r.by}
	if name == "ack" {
		fields["alarm"], fields["comment"] = *alarm, *comment
	}
	return give(ctx, r, name, fields, stdout)
}

// keysCmd prints the public key of the gateway's own command line (the
// principal "local"), creating the key when the gateway has not yet.
func keysCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys", stderr)
	cfgPath := fs.String("config", defaultConfig, "room config file (for its storage path)")
	db := fs.String("db", "", "the event log, when run gives --db: the key is next to it")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	logPath := cfg.Storage.Path
	if *db != "" {
		logPath = *db
	}
	path := wire.LocalKeyPath(logPath)
	key, created, err := wire.LoadOrCreateKey(path)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stderr, "created %s (mode 0600: only the gateway's user may read it)\n", path)
	}
	fmt.Fprintf(stdout, "%s %s %s\n", gateway.LocalPrincipal, gateway.FormatPublicKey(key.Public().(ed25519.PublicKey)), path)
	// The room's own key, which signs the log's checkpoints: what an
	// inspector and the console check them with.
	roomPath := wire.RoomKeyPath(logPath)
	roomKey, created, err := wire.LoadOrCreateKey(roomPath)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stderr, "created %s (mode 0600: only the gateway's user may read it)\n", roomPath)
	}
	pub := roomKey.Public().(ed25519.PublicKey)
	fmt.Fprintf(stdout, "room %s %s\n", gateway.FormatPublicKey(pub), roomPath)
	// What an admin compares with the console's room page before
	// confirming the room's key there.
	fmt.Fprintf(stdout, "room-fingerprint %s\n", gateway.KeyFingerprint(pub))
	return nil
}

// haCodeCmd prints a person's line for Home Assistant's codes file
// (homeassistant.arm.codes_file): the code read from stdin, never an
// argument (a command line is visible to every user of the machine).
func haCodeCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("ha-code", stderr)
	room := fs.String("room", "", "the room's id (room.id of its config): a code opens only its room")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if *room == "" || fs.NArg() != 1 {
		return usagef("ha-code --room ROOM PERSON, the code on stdin")
	}
	code, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	line, err := homeassistant.CodeLine(*room, fs.Arg(0), strings.TrimSpace(code))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, line)
	return err
}
