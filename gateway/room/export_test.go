package room

import (
	"sort"
	"sync"
)

// HeldLocks names the room's locks someone holds now (each tried, and let
// go when taken): a driver asks it when the room calls it.
func HeldLocks(r *Room) []string {
	locks := map[string]*sync.Mutex{"engine": &r.Engine.mu, "safes": &r.Engine.safeMu, "panel": &r.Panel.mu,
		"panel queue": &r.Panel.qmu, "panel faults": &r.Panel.fmu, "access": &r.Access.mu}
	if r.Vault != nil {
		locks["vault"] = &r.Vault.mu
	}
	var held []string
	for name, mu := range locks {
		if !mu.TryLock() {
			held = append(held, name)
			continue
		}
		mu.Unlock()
	}
	sort.Strings(held)
	return held
}
