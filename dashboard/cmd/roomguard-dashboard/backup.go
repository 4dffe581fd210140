package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/backup"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/wire"
)

// minRetentionDays is the shortest replica retention (the rooms keep 180
// days at least, GB 50396: the console, their copy, no less).
const minRetentionDays = 180

// backupCmd is `backup DIR`: the console's database (the replica, the
// accounts, the audit log, the pinned keys) and its key, copied while it
// runs, with a manifest.
func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	db := fs.String("db", defaultDB, "the dashboard's database (its key is next to it)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if fs.NArg() != 1 {
		return usagef("backup: want the directory to back up into (roomguard-dashboard backup DIR)")
	}
	out, err := backupConsole(ctx, *db, fs.Arg(0), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up the console's database to %s\n", out)
	return nil
}

func backupConsole(ctx context.Context, db, dir string, now time.Time) (string, error) {
	out := filepath.Join(dir, "dashboard-"+now.UTC().Format("20060102T150405.000Z"))
	if err := os.MkdirAll(out, 0o700); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	store, err := sqlite.Open(db, sysclock.New(sysclock.TrustKernel))
	if err != nil {
		return "", errors.Join(err, os.RemoveAll(out))
	}
	err = errors.Join(store.Backup(ctx, filepath.Join(out, filepath.Base(db))), store.Close())
	if err == nil {
		if key := wire.LocalKeyPath(db); exists(key) {
			err = backup.CopyNew(key, filepath.Join(out, filepath.Base(key)), 0o600)
		}
	}
	if err == nil {
		_, err = backup.Seal(out, backup.Manifest{Room: "dashboard", Created: now})
	}
	if err != nil {
		return "", errors.Join(err, os.RemoveAll(out))
	}
	return out, nil
}

// restoreCmd is `restore BACKUP`: the console's database and key put back
// (never over a database: move the damaged one aside first).
func restoreCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", stderr)
	db := fs.String("db", defaultDB, "where the database goes (its key next to it)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if fs.NArg() != 1 {
		return usagef("restore: want the backup's directory (roomguard-dashboard restore BACKUP)")
	}
	dir := fs.Arg(0)
	m, err := backup.ReadFiles(dir)
	if err != nil {
		return err
	}
	if exists(*db) {
		return gateway.Errorf(gateway.ECONFLICT, "restore: %s exists: move the damaged database aside first", *db)
	}
	for name := range m.Files {
		dst := *db
		switch {
		case strings.HasSuffix(name, ".command.key"):
			dst = wire.LocalKeyPath(*db)
			if exists(dst) {
				return gateway.Errorf(gateway.ECONFLICT, "restore: %s exists: move it aside first", dst)
			}
		case strings.HasSuffix(name, ".db"):
		default:
			continue
		}
		if err := backup.CopyNew(filepath.Join(dir, name), dst, 0o600); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	store, err := sqlite.Open(*db, sysclock.New(sysclock.TrustKernel)) // the restored database opens, migrated
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored the console's database to %s; the rooms fill in what happened since (events/resend)\n", *db)
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// pruneDaily prunes the replica past its retention once a day (first at
// the start); a failed prune is logged and tried the next day.
func pruneDaily(ctx context.Context, store *sqlite.Store, days int, clock gateway.Clock, log *slog.Logger) {
	for {
		n, err := store.Prune(clock.Now().AddDate(0, 0, -days))
		if err != nil {
			log.Error("replica: prune failed; tried again tomorrow", "err", err)
		} else if n > 0 {
			log.Info("replica: pruned", "events", n, "older_than_days", days)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(24 * time.Hour):
		}
	}
}
