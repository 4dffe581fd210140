package main

import (
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/service"
)

// carriers is what the carrier commands act on when the room tracks
// carriers (nil when it does not), its register's version published.
func (d *daemon) carriers(cfg *config.Config, clock gateway.Clock, states *mqtt.Retained) (*service.Carriers, error) {
	if d.room.Vault == nil {
		return nil, nil
	}
	cc := &service.Carriers{Vault: d.room.Vault, Registers: d.room, Receiver: d.room, Store: d.store, Limits: cfg.Limits.Room(), Retained: states, Room: cfg.Room.ID, Clock: clock}
	for _, s := range cfg.Safes {
		cc.Safes = append(cc.Safes, s.ID)
	}
	ri, err := d.store.CarrierRegister()
	if err != nil {
		return nil, err
	}
	cc.Publish(ri)
	return cc, nil
}
