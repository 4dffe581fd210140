package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway/sysclock"
)

// room is `room add [--fingerprint FP] ROOM` and `room list`: the rooms the
// console shows (issue 27: no other; traffic for an id nobody added is
// counted, never shown).
func room(cmd string, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("room "+cmd, stderr)
	db := fs.String("db", defaultDB, "the dashboard's database")
	var fingerprint *string
	if cmd == "add" {
		fingerprint = fs.String("fingerprint", "", "the room key's fingerprint, as roomguard-gateway keys prints it on the Pi (room-fingerprint): the key is confirmed at first contact when it matches")
	}
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if cmd != "add" && cmd != "list" {
		return usagef("room: want add or list, not %q", cmd)
	}
	store, err := sqlite.Open(*db, sysclock.New(sysclock.TrustKernel))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	if cmd == "add" {
		if fs.NArg() != 1 {
			return usagef("room add: give one room id")
		}
		if err := store.AddRoom(fs.Arg(0), *fingerprint, "roomguard-dashboard room add ("+loginName()+")"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "room %s added", fs.Arg(0))
		if *fingerprint != "" {
			fmt.Fprint(stdout, "; its key is confirmed at first contact if its fingerprint matches")
		} else {
			fmt.Fprint(stdout, "; confirm its key on its page (compare with roomguard-gateway keys on the Pi)")
		}
		fmt.Fprintln(stdout)
		return nil
	}
	rooms, err := store.WatchedRooms()
	if err != nil {
		return err
	}
	keys, err := store.RoomKeys()
	if err != nil {
		return err
	}
	pinned := map[string]bool{}
	for _, k := range keys {
		pinned[k.Room] = k.Pinned != ""
	}
	for _, r := range rooms {
		state := "key not confirmed"
		if pinned[r.Room] {
			state = "key confirmed"
		}
		fmt.Fprintf(stdout, "%s\t%s\tadded %s by %s\n", r.Room, state, r.AddedAt.Format("2006-01-02 15:04"), r.AddedBy)
	}
	return nil
}

// loginName is who runs the command line, for the record.
func loginName() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
