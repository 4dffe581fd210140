package main

import (
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/wire"
)

// brokenError is a log whose chain does not hold: the command line exits 1
// for it.
type brokenError struct{ err error }

func (e *brokenError) Error() string { return e.err.Error() }

// logCmd is `log verify`: it walks the log's chain and names the first
// broken link (an edited, deleted, inserted or reordered event) by its seq.
func logCmd(sub string, args []string, stdout, stderr io.Writer) error {
	if sub != "verify" {
		return usagef("log: unknown subcommand %q (want verify)", sub)
	}
	fs := newFlags("log verify", stderr)
	cfgPath := fs.String("config", defaultConfig, "room config file (for its storage path)")
	db := fs.String("db", "", "event log file (instead of the config's storage path)")
	from := fs.Uint64("from", 1, "the first seq to verify (the chain is trusted up to it)")
	to := fs.Uint64("to", 0, "the last seq to verify (0: the last logged)")
	through := fs.String("checkpoint", "", "a head noted earlier (a checkpoint's, or printed by log verify): the chain must pass through it")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	path := *db
	if path == "" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		path = c.Storage.Path
	}
	r, err := sqlite.OpenReader(path)
	if err != nil {
		return err
	}
	defer r.Close()
	room, err := r.Room()
	if err != nil {
		return err
	}
	v := &gateway.ChainVerifier{Room: room, Through: *through}
	keyNote := "checkpoints' signatures not checked: the room's key " + wire.RoomKeyPath(path) + " is not readable here"
	if k, err := wire.LoadKey(wire.RoomKeyPath(path)); err == nil {
		v.Key, keyNote = k.Public().(ed25519.PublicKey), "checkpoints signed by the room's key"
	}
	brk, err := r.VerifyChainWith(v, *from, *to)
	if err != nil {
		return err
	}
	if brk != nil {
		return &brokenError{fmt.Errorf("log of room %s: the chain is broken at %v (verified before it: %d events, seq %d to %d; %s)", room, brk, v.Events+v.Unchained, v.First, v.Last, keyNote)}
	}
	if *through != "" && !v.Passed {
		return &brokenError{fmt.Errorf("log of room %s: the chain does not pass through %s: rewritten since it was noted, or not within seq %d to %d", room, *through, v.First, v.Last)}
	}
	fmt.Fprintf(stdout, "log of room %s: intact, %d events, seq %d to %d, head %s; %d checkpoints (%s)", room, v.Events, v.First, v.Last, v.Head, v.Checkpoints, keyNote)
	if v.Unchained > 0 {
		fmt.Fprintf(stdout, " (the first %d logged before the chain existed)", v.Unchained)
	}
	if v.First > 1 {
		fmt.Fprintf(stdout, " (verified from seq %d: the ones before were pruned or not asked for)", v.First)
	}
	fmt.Fprintln(stdout)
	return nil
}
