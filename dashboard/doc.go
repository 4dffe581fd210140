// Package dashboard is the guard station's side of roomguard: the central
// record of every room (a replica of every event each gateway logged), the
// guards' console and the reports an inspection asks for.
//
// The domain lives here: users and their roles, the audit log, the replica's
// records and the questions the pages ask of them. Subpackages hold the
// outside things: sqlite (the replica and accounts), mqtt (the link to the
// rooms), http (the web console); cmd/roomguard-dashboard wires them.
package dashboard
