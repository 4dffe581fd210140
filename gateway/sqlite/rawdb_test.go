package sqlite_test

import (
	"database/sql"
	"testing"
)

// rawDB opens the file directly, as an attacker or a careless admin might.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
