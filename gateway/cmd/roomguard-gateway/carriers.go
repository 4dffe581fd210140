package main

import (
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/service"
)

// carrierCommands wires the carrier commands when the room tracks carriers.
func (d *daemon) carrierCommands(cfg *config.Config, clock gateway.Clock, states *mqtt.Retained, cmds *mqtt.Commands) error {
	if d.room.Vault == nil {
		return nil
	}
	cc := &service.Carriers{Vault: d.room.Vault, Store: d.store, Limits: cfg.Limits.Room(), Retained: states, Room: cfg.Room.ID, Clock: clock}
	for _, s := range cfg.Safes {
		cc.Safes = append(cc.Safes, s.ID)
	}
	ri, err := d.store.CarrierRegister()
	if err != nil {
		return err
	}
	cc.Publish(ri)
	cmds.Carriers = cc
	return nil
}
