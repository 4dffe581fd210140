package dashboard

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	gwcsv "github.com/roomguard/roomguard/gateway/csv"
)

// Register is the dashboard's master copy of a register the rooms hold: the
// personnel register (who may enter which room) or the carrier register.
type Register struct {
	Kind      string // personnel or carriers
	Version   int64
	CSV       string
	Count     int
	SHA256    string
	Updated   time.Time
	UpdatedBy string
}

// RegisterKinds are the registers the dashboard keeps.
var RegisterKinds = []string{"personnel", "carriers"}

// CheckRegister reads a register's CSV as the rooms will, reporting every
// bad line, and returns how many records it holds.
func CheckRegister(kind, text string) (int, error) {
	switch kind {
	case "personnel":
		people, err := gwcsv.ReadPeople(strings.NewReader(text), kind+" register", gateway.MaxRecords)
		return len(people), err
	case "carriers":
		carriers, err := gwcsv.ReadCarriers(strings.NewReader(text), kind+" register", gateway.MaxRecords)
		return len(carriers), err
	}
	return 0, gateway.Errorf(gateway.ENOTFOUND, "no register %q (personnel, carriers)", kind)
}

// SHA256 is the hex digest of a register's text.
func SHA256(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}
