package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Backup copies the log, consistent as of one moment, to dst, a file that
// must not exist yet: SQLite's online backup from a read connection, so the
// room goes on writing meanwhile.
func (s *Reader) Backup(ctx context.Context, dst string) error { return Backup(ctx, s.r, dst) }

// Backup copies the database src reads, consistent as of one moment, to
// dst, a file that must not exist yet, as one self-contained file.
func Backup(ctx context.Context, src *sql.DB, dst string) (err error) {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup: %s exists already", dst)
	}
	out, err := sql.Open("sqlite3", FileURI(dst)+"?mode=rwc")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	dc, err := out.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", dst, err)
	}
	defer func() { err = errors.Join(err, dc.Close()) }()
	sc, err := src.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() { err = errors.Join(err, sc.Close()) }()
	err = dc.Raw(func(d any) error {
		return sc.Raw(func(s any) error {
			b, err := d.(*sqlite3.SQLiteConn).Backup("main", s.(*sqlite3.SQLiteConn), "main")
			if err != nil {
				return err
			}
			for done := false; !done; {
				if done, err = b.Step(-1); err != nil {
					return errors.Join(err, b.Finish())
				}
			}
			return b.Finish()
		})
	})
	if err == nil { // one self-contained file: no write-ahead log beside it
		_, err = dc.ExecContext(ctx, `PRAGMA journal_mode = DELETE`)
	}
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	return nil
}
