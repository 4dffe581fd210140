// Package room is the behaviour of one confidential room: the engine that
// turns device changes into events, the panel (modes, arming and its
// readiness rule, the exit and entry delays, alarms, the holiday seal and
// its verdict), entry control, carrier tracking and the safes.
//
// Every operation — an input's change, a badge, a command, a timer — runs on
// the panel's queue and adds to one change (gateway.Change), written in one
// transaction and then published: the room's one commit path. Errors are
// returned to whoever asked, or raised as a gateway-fault alarm.
package room
