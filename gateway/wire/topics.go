package wire

import "fmt"

// Topics are the topics of one room.
type Topics struct{ Room string }

func (t Topics) Root() string              { return "roomguard/" + t.Room }
func (t Topics) Status() string            { return t.Root() + "/status" }
func (t Topics) Events() string            { return t.Root() + "/events" }
func (t Topics) Device(id string) string   { return t.Root() + "/devices/" + id }
func (t Topics) SimInput(id string) string { return t.Root() + "/sim/input/" + id }
func (t Topics) SimInputFilter() string    { return t.Root() + "/sim/input/+" }
func (t Topics) SimPorts() string          { return t.Root() + "/sim/ports" }
func (t Topics) Mode() string              { return t.Root() + "/mode" }
func (t Topics) Head() string              { return t.Root() + "/head" }
func (t Topics) Alarm(id string) string    { return t.Root() + "/alarms/" + id }
func (t Topics) SealReport(id string) string {
	return t.Root() + "/seal-reports/" + id
}
func (t Topics) CmdFilter() string         { return t.Root() + "/cmd/#" }
func (t Topics) Occupancy() string         { return t.Root() + "/occupancy" }
func (t Topics) Personnel() string         { return t.Root() + "/personnel" }
func (t Topics) Calldown() string          { return t.Root() + "/calldown" }
func (t Topics) SimBadge(id string) string { return t.Root() + "/sim/badge/" + id }
func (t Topics) SimBadgeFilter() string    { return t.Root() + "/sim/badge/+" }
func (t Topics) SimModemFilter() string    { return t.Root() + "/sim/modem/+" }
func (t Topics) Reply(id string) string    { return t.Root() + "/reply/" + id }
func (t Topics) Resend(who string) string  { return t.Root() + "/resend/" + who }
func (t Topics) Carriers() string          { return t.Root() + "/carriers" }
func (t Topics) Carrier(id string) string  { return t.Root() + "/carriers/" + id }
func (t Topics) Inventory(id string) string {
	return t.Root() + "/inventories/" + id
}
func (t Topics) SimTags(reader string, antenna int) string {
	return fmt.Sprintf("%s/sim/tags/%s/%d", t.Root(), reader, antenna)
}
func (t Topics) SimTagsFilter() string { return t.Root() + "/sim/tags/+/+" }
func (t Topics) String() string        { return fmt.Sprintf("roomguard/%s/#", t.Room) }

// ConsoleRoot is the root of the consoles' own topics (two consoles on one
// broker: roomguard-console/<console>/…, dashboard/mqtt/peer.go).
const ConsoleRoot = "roomguard-console"
