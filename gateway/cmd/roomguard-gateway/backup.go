package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/roomguard/roomguard/gateway/backup"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/wire"
)

// restoreMargin is how far past the head retained on the broker a restored
// log goes on: the head is signed each time the publisher drains, and after
// every window of events while it does not, so a consumer may hold a little
// more than the head says; skipping a few seqs costs nothing.
const restoreMargin = 10_000

// backupCmd is `backup DIR`: the log and its keys, copied while the room
// runs, verified, with a manifest.
func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	cfgPath := fs.String("config", defaultConfig, "room config file (for its storage path)")
	db := fs.String("db", "", "event log file (instead of the config's storage path)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if fs.NArg() != 1 {
		return usagef("backup: want the directory to back up into (roomguard-gateway backup DIR)")
	}
	path, _, err := logOf(*cfgPath, *db)
	if err != nil {
		return err
	}
	out, m, err := backup.Make(ctx, path, fs.Arg(0), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up room %s through seq %d (head %s) to %s\n", m.Room, m.LastSeq, m.Head, out)
	return nil
}

// restoreCmd is `restore BACKUP`: the backup put back as the log, going on
// after the last seq the room used.
func restoreCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", stderr)
	cfgPath := fs.String("config", defaultConfig, "room config file (its storage path, and its broker for the room's last seq)")
	db := fs.String("db", "", "where the log goes (instead of the config's storage path)")
	after := fs.Uint64("resume-after", 0, "the last seq the room used (the console's room page shows the highest it holds); default: the head retained on the broker, plus a margin")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if fs.NArg() != 1 {
		return usagef("restore: want the backup's directory (roomguard-gateway restore BACKUP)")
	}
	dir := fs.Arg(0)
	m, err := backup.Read(dir)
	if err != nil {
		return err
	}
	path, cfg, err := logOf(*cfgPath, *db)
	if err != nil {
		return err
	}
	// The restored log goes on strictly above every seq anyone saw: the
	// operator's, the backup's own, and the room's signed head on the
	// broker when one holds it (issue 27, finding 6: an operator's value
	// below what the room had logged reused seqs the console held).
	resume := *after
	if resume > 1<<62 {
		return fmt.Errorf("restore: --resume-after %d is not a seq a room reaches", resume)
	}
	if resume != 0 && resume < m.LastSeq {
		return fmt.Errorf("restore: --resume-after %d is below seq %d, the backup's own last: the room logged at least that far", resume, m.LastSeq)
	}
	var headErr error
	if cfg != nil && cfg.MQTT.External() {
		key, err := backup.RoomKey(dir, m)
		if err != nil {
			return err
		}
		head, err := wire.RetainedHead(wire.Conn{URL: cfg.MQTT.BrokerURL(), ClientID: cfg.MQTT.ClientID + "-restore", Username: cfg.MQTT.Username,
			Password: cfg.MQTT.Password.Reveal(), CAFile: cfg.MQTT.CAFile, CertFile: cfg.MQTT.CertFile, KeyFile: cfg.MQTT.KeyFile},
			m.Room, key, 10*time.Second)
		if headErr = err; err == nil {
			// The head may be a publisher's window behind the log: a margin.
			if floor := max(head.Seq, m.LastSeq) + restoreMargin; floor > resume {
				if resume != 0 {
					fmt.Fprintf(stderr, "--resume-after %d is below what the room's signed head on the broker shows (seq %d): ", resume, head.Seq)
				} else {
					fmt.Fprintf(stderr, "the room's head on the broker is seq %d: ", head.Seq)
				}
				resume = floor
				fmt.Fprintf(stderr, "going on after seq %d\n", resume)
			}
		}
	}
	if resume == 0 {
		why := "no external broker holds its head"
		if headErr != nil {
			why = headErr.Error()
		}
		return fmt.Errorf("restore: the room's last seq is unknown (%s): give --resume-after SEQ, the highest seq the console's room page shows", why)
	}
	if headErr != nil {
		fmt.Fprintf(stderr, "the room's head on the broker could not be read (%v): going on after seq %d, as given\n", headErr, resume)
	}
	if _, err := backup.Restore(dir, path, resume, sysclock.New(sysclock.TrustAlways)); err != nil {
		return err
	}
	lost := fmt.Sprintf("seq %d–%d declared lost", m.LastSeq+1, resume)
	if resume == m.LastSeq {
		lost = "no seq declared lost"
	}
	fmt.Fprintf(stdout, "restored room %s to %s: seq 1–%d from the backup, %s (log.restored), the log goes on at %d\n",
		m.Room, path, m.LastSeq, lost, resume+2)
	return nil
}

// logOf is the log a command works on: --db, or the config's storage path
// (with the config, when it was read).
func logOf(cfgPath, db string) (string, *config.Config, error) {
	cfg, err := config.Load(cfgPath)
	switch {
	case err == nil && db == "":
		return cfg.Storage.Path, cfg, nil
	case err == nil:
		return db, cfg, nil
	case db != "":
		return db, nil, nil
	}
	return "", nil, err
}
