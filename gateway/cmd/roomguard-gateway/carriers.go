package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/csv"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/room"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

// carrierCommands carries out the carrier commands (mqtt.CarrierTarget).
type carrierCommands struct {
	*room.Vault
	store    *sqlite.Store
	limits   gateway.Limits
	retained *mqtt.Retained
	room     string
	safes    []string
	clock    gateway.Clock
}

func (cc *carrierCommands) ReplaceCarriers(text string, version int64, by string) (map[string]any, error) {
	carriers, err := csv.ReadCarriers(strings.NewReader(text), "carriers/replace", cc.limits.Carriers)
	if err != nil {
		return nil, gateway.Errorf(gateway.EINVALID, "%v", err)
	}
	var bad []string
	for _, c := range carriers {
		if !slices.Contains(cc.safes, c.Home) {
			bad = append(bad, fmt.Sprintf("%s: home %q", c.ID, c.Home))
		}
	}
	if len(bad) > 0 {
		return nil, gateway.Errorf(gateway.EINVALID, "carriers/replace: homes that are not safes of this room (%s): %s",
			strings.Join(cc.safes, ", "), strings.Join(bad, "; "))
	}
	var ri sqlite.RegisterInfo
	err = cc.Replace(carriers, func() (err error) {
		ri, err = cc.store.ReplaceCarriers(carriers, version, by, cc.clock.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	cc.publishRegister(ri)
	return map[string]any{"version": ri.Version, "count": ri.Count, "sha256": ri.SHA256}, nil
}

func (cc *carrierCommands) publishRegister(ri sqlite.RegisterInfo) {
	cc.retained.CarrierRegister(registerPayload(cc.room, ri))
}

// InventoryReport returns a stored report, the latest when id is empty.
func (cc *carrierCommands) InventoryReport(id string) (*gateway.InventoryReport, error) {
	if id != "" {
		return cc.store.Inventory(id)
	}
	rs, err := cc.store.Inventories(time.Time{}, 1)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return &rs[0], nil
}

// carrierCommands wires the carrier commands when the room tracks carriers.
func (d *daemon) carrierCommands(cfg *config.Config, clock gateway.Clock, states *mqtt.Retained, cmds *mqtt.Commands) error {
	if d.room.Vault == nil {
		return nil
	}
	cc := &carrierCommands{Vault: d.room.Vault, store: d.store, limits: cfg.Limits.Room(), retained: states, room: cfg.Room.ID, clock: clock}
	for _, s := range cfg.Safes {
		cc.safes = append(cc.safes, s.ID)
	}
	ri, err := d.store.CarrierRegister()
	if err != nil {
		return err
	}
	cc.publishRegister(ri)
	cmds.Carriers = cc
	return nil
}
