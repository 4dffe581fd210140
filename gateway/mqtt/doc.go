// Package mqtt connects a room's gateway to its MQTT broker: the session
// (connection, last will, status), the outbox publisher that sends the event
// log in order, the retained device states, and subscriptions.
//
// Why the session reconnects by itself instead of using paho's AutoReconnect:
// with AutoReconnect and a clean session, paho keeps in-flight QoS 1 tokens
// pending across a reconnect and resends them from its own store; the outbox
// could then not tell "the broker has it" from "paho will try again". Without
// it, every token in flight when the connection drops completes with an
// error, and the outbox cursor alone decides what is sent again.
package mqtt
