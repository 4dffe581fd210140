package homeassistant

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Principal is the name Home Assistant's arming signs with: a principal
// the room trusts with arm alone (config.TrustedPrincipals adds it when the
// installer enables arming), so neither a bug here nor anyone who can
// publish on Home Assistant's topic can disarm or unseal.
const Principal = "homeassistant"

// CommandTopic is where Home Assistant sends the panel's actions.
func CommandTopic(prefix, room string) string {
	return prefix + "/alarm_control_panel/" + NodeID(room) + "/panel/set"
}

// commandTemplate makes Home Assistant send the action and the code typed
// on its keypad as JSON (its panel's code is REMOTE_CODE: the room checks
// it, not Home Assistant).
const commandTemplate = `{"action": "{{ action }}", "code": "{{ code }}"}`

// Code is one person's arming code, kept hashed: CodeHash.
type Code struct{ Person, Hash string }

// CodeHash is how a code is kept: SHA-256 of the room, the person and the
// code, so a code file copied from one room opens no other and two people
// with one code are told apart.
func CodeHash(room, person, code string) string {
	h := sha256.Sum256([]byte(room + "\x00" + person + "\x00" + code))
	return hex.EncodeToString(h[:])
}

// CodeLine is a codes file's line for person (what `roomguard-gateway
// homeassistant code` prints).
func CodeLine(room, person, code string) (string, error) {
	if len(code) < 6 || strings.IndexFunc(code, func(r rune) bool { return !unicode.IsDigit(r) }) >= 0 {
		return "", gateway.Errorf(gateway.EINVALID, "a code is six digits or more")
	}
	return person + " " + CodeHash(room, person, code), nil
}

// ReadCodes reads a codes file: a person's id and the hash of their code
// on each line; # starts a comment. name is the file's, for the errors.
func ReadCodes(r io.Reader, name string) ([]Code, error) {
	var codes []Code
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 || len(f[1]) != 64 || strings.Trim(f[1], "0123456789abcdef") != "" {
			return nil, fmt.Errorf("%s:%d: want a person's id and the hash of their code (roomguard-gateway homeassistant code)", name, n)
		}
		codes = append(codes, Code{Person: f[0], Hash: f[1]})
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return codes, nil
}

// Bridge carries Home Assistant's "arm away" into the room: the code
// typed names a person of the codes file, and the command goes in as that
// person's, signed by Principal, through the room's own command path
// (Execute: the signature, the principal's commands, the person's role,
// the room's readiness). Every other action is refused, and so is a code
// nobody has; each refusal is the room's (Refused), so a burst of wrong
// codes raises the forgery alarm like any burst of refused commands.
type Bridge struct {
	Room    string
	Codes   []Code
	Signer  *wire.Signer
	Execute func(name string, envelope []byte) wire.Reply
	Refused func(principal, cmd, code, detail string) error
	Log     *slog.Logger
	next    uint64
}

// Handle takes one message of CommandTopic.
func (a *Bridge) Handle(_ string, payload []byte) {
	var m struct{ Action, Code string }
	if err := json.Unmarshal(payload, &m); err != nil {
		a.refuse("arm", gateway.EINVALID, "Home Assistant's command is not its template's JSON")
		return
	}
	if m.Action != "ARM_AWAY" {
		a.refuse(strings.ToLower(m.Action), gateway.EFORBIDDEN, fmt.Sprintf("Home Assistant may only arm (asked %q)", m.Action))
		return
	}
	person := ""
	for _, c := range a.Codes {
		if subtle.ConstantTimeCompare([]byte(CodeHash(a.Room, c.Person, m.Code)), []byte(c.Hash)) == 1 {
			person = c.Person
		}
	}
	if person == "" {
		a.refuse("arm", gateway.EUNAUTHENTICATED, "a code from Home Assistant that is nobody's")
		return
	}
	a.next++
	cmd, err := json.Marshal(map[string]string{"id": fmt.Sprintf("ha-%d-%d", a.Signer.Clock.Now().UnixMilli(), a.next), "by": person})
	if err == nil {
		var env []byte
		if env, err = a.Signer.Sign(a.Room, "arm", cmd); err == nil {
			r := a.Execute("arm", env)
			if r.Status != "ok" && r.Error != nil {
				a.Log.Warn("Home Assistant's arming refused by the room", "by", person, "code", r.Error.Code, "err", r.Error.Message)
			}
			return
		}
	}
	a.Log.Error("Home Assistant's arming not signed", "err", err)
}

func (a *Bridge) refuse(cmd, code, detail string) {
	a.Log.Warn("Home Assistant's command refused", "cmd", cmd, "code", code, "why", detail)
	if err := a.Refused(Principal, cmd, code, detail); err != nil {
		a.Log.Error("a refusal not logged", "err", err)
	}
}
