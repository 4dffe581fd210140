package gateway

import "time"

// SafeConfig is a safe cabinet (保密柜): a bolt contact and a door contact.
type SafeConfig struct {
	ID           string
	Name         string
	Bolt         string // the safe-bolt input
	Door         string // the safe-door input
	OpenReminder time.Duration
}

// The states of a safe, from its two contacts.
const (
	SafeLocked   = "locked"   // door closed, bolt thrown
	SafeUnlocked = "unlocked" // door closed, bolt drawn
	SafeOpen     = "open"     // door open
)

// KindSafe is the kind of a safe's derived device state.
const KindSafe = "safe"
