// Package sqlite is the gateway's durable event log and outbox, on SQLite.
//
// Durability: WAL with synchronous=FULL. mattn/go-sqlite3 defaults to NORMAL,
// which in WAL mode may lose the last commits on power loss; a confidential
// room's Pi does lose power, and an event that was reported as logged must
// survive that. One writer goroutine owns the only read-write connection and
// commits callers' writes in groups (one fsync for many events); readers use
// a separate read-only pool so queries never wait for the writer.
package sqlite
