// Package gateway holds the domain of one confidential room (保密室): its events,
// devices and the engine that turns device changes into recorded events.
//
// Nothing here imports SQL, MQTT or hardware; those live in subpackages
// (sqlite, mqtt, config) and in the devices tree, and the command in
// cmd/roomguard-gateway only wires them together.
package gateway
