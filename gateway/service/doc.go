// Package service holds the gateway's rules and work beside the room, so
// the command only wires them (issue 29, item 3): the registers a console
// replaces (personnel, carriers and their homes, the call-down, each
// checked, kept in the log and published retained), and the jobs (the
// chain checked at the start and every day, the hourly checkpoint, the
// prune, the backup, the storage watch). Each is testable without a
// daemon: it takes the room, the log and the clock it needs.
package service
