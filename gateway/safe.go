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

// KeyChange is a safe's combination changed, or a door's key (钥匙/密码,
// issue 31): by whom, witnessed by whom, and who holds it now. Two people,
// each through their own channel: the one who changed it asks, naming the
// witness; the witness sends the same, naming them.
type KeyChange struct {
	Subject string // a safe, or a door
	Holder  string // who holds the combination or the key now
	By      string
	Witness string
	Via     string
}

// KeyKinds: what is changed on a safe, and on a door.
const (
	KeyCombination = "combination" // 保密柜密码
	KeyDoor        = "key"         // 门钥匙
)
