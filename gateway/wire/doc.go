// Package wire is the contract between a room and whoever talks to it over
// MQTT (docs/mqtt.md): the topics, the status, the replies and refusals,
// the signing of commands, the call-down list a console edits, the key
// files, and how a client reaches the broker. The gateway's MQTT adapter
// and the console both import it; it imports neither, nor the log, nor
// the broker, so a console links nothing of a room but its words.
package wire
