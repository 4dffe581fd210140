package sqlite

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

func migrate(db *sql.DB) error { return Migrate(db, migrationFiles) }

// Migrate applies the migrations in files' "migrations" folder (NNN_name.sql)
// newer than PRAGMA user_version, each in its own transaction together with
// the version bump. The gateway's log and the dashboard's replica both use it.
func Migrate(db *sql.DB, files fs.FS) error {
	entries, err := fs.ReadDir(files, "migrations")
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var current int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	for _, e := range entries {
		n, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", e.Name())
		}
		if n <= current {
			continue
		}
		body, err := fs.ReadFile(files, "migrations/"+e.Name())
		if err != nil {
			return err
		}
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, n)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		current = n
	}
	return nil
}

// EnsureDir makes the directory a database file goes in when it is
// missing (mode 0750: the service's user and its group), or says which one
// it could not make.
func EnsureDir(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("sqlite: the directory %s for %s is missing and cannot be made: %w", dir, filepath.Base(path), err)
	}
	return nil
}

// PrepareFile makes a database's directory when it is missing, and the
// database file itself, empty, with mode 0640 whatever the umask: a log
// holds who came and went, readable by its service and its group only
// (SQLite gives its -wal and -shm files the same mode).
func PrepareFile(path string) error {
	if err := EnsureDir(path); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	return errors.Join(f.Chmod(0o640), f.Close())
}
