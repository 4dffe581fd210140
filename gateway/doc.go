// Package gateway holds the nouns of one confidential room (保密室): its
// events and the change the log writes, devices, inputs and outputs, modes
// and the panel's state, alarms, persons, visitors, carriers, safes, seal
// and inventory reports, error codes, the clock, and the interfaces the
// room needs of the outside (its log, its sinks, its register).
//
// The room's behaviour lives in one package, gateway/room. Nothing here or
// there imports SQL, MQTT or hardware; those live in subpackages (sqlite,
// mqtt, config) and in the devices tree, and the command in
// cmd/roomguard-gateway wires them together.
package gateway
