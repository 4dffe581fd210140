package gateway

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A Principal is who may command a room: a guard console, the gateway's own
// command line on the Pi, an integration the installer enrolled. Each signs
// its commands with its Ed25519 key; the room's config lists the trusted
// ones with the commands each may send.
type Principal struct {
	Name     string
	Key      ed25519.PublicKey
	Commands []string // command names ("arm", "personnel/replace"), or "*" for every one
}

// May tells whether p may send command name.
func (p Principal) May(name string) bool {
	return slices.Contains(p.Commands, "*") || slices.Contains(p.Commands, name)
}

// LocalPrincipal is the name of the gateway's own command line: its key is
// created at the first start next to the log, readable only by the
// gateway's user, and it may send every command.
const LocalPrincipal = "local"

// AnyPrincipal is the row of the counters that holds for every principal:
// the floor a restore sets (no principal is named "*": config refuses it).
const AnyPrincipal = "*"

// principalName is what a principal may be called (a topic segment too).
var principalName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// CheckPrincipalName says what is wrong with a principal's name.
func CheckPrincipalName(name string) error {
	if !principalName.MatchString(name) {
		return fmt.Errorf("principal %q: 1 to 64 letters, digits, '.', '_' or '-'", name)
	}
	return nil
}

// Envelope is a signed command: the command's exact bytes (its JSON, which
// keeps its schema) with who signed it, when, a nonce and a counter, and the
// signature over the room, the command's name and all of those: a signature
// for one room or one command is worthless for another.
type Envelope struct {
	Principal string
	TS        time.Time // when it was signed
	Nonce     string    // 32 hex digits, never used twice
	Counter   uint64    // rises with every command of the principal
	Cmd       []byte    // the command's JSON, exactly as signed
	Sig       []byte
}

// envelopeVersion is the only envelope this gateway reads.
const envelopeVersion = 1

// wireEnvelope is an envelope as JSON (schemas/envelope.schema.json).
type wireEnvelope struct {
	V         int    `json:"v"`
	Principal string `json:"principal"`
	TS        string `json:"ts"`
	Nonce     string `json:"nonce"`
	Counter   uint64 `json:"counter"`
	Cmd       string `json:"cmd"` // base64 (standard, padded): the exact bytes
	Sig       string `json:"sig"` // base64
}

// signedBytes is what the signature covers.
func (e Envelope) signedBytes(room, name string) []byte {
	var b bytes.Buffer
	b.WriteString("roomguard command v1\x00")
	for _, s := range []string{room, name, e.Principal, e.TS.UTC().Format(TimeFormat), e.Nonce, strconv.FormatUint(e.Counter, 10)} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	b.Write(e.Cmd)
	return b.Bytes()
}

// SignCommand wraps cmd, the command name's JSON for room, in an envelope
// signed by principal with key, at ts, with counter.
func SignCommand(key ed25519.PrivateKey, principal, room, name string, cmd []byte, ts time.Time, counter uint64) ([]byte, error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return nil, err
	}
	e := Envelope{Principal: principal, TS: ts.Truncate(time.Millisecond), Nonce: hex.EncodeToString(n[:]), Counter: counter, Cmd: cmd}
	e.Sig = ed25519.Sign(key, e.signedBytes(room, name))
	return json.Marshal(wireEnvelope{V: envelopeVersion, Principal: e.Principal, TS: e.TS.UTC().Format(TimeFormat), Nonce: e.Nonce,
		Counter: e.Counter, Cmd: base64.StdEncoding.EncodeToString(e.Cmd), Sig: base64.StdEncoding.EncodeToString(e.Sig)})
}

// IsEnvelope tells a signed command from a plain one: an envelope has "v"
// or "sig", which no command has.
func IsEnvelope(payload []byte) bool {
	var probe struct {
		V   json.RawMessage `json:"v"`
		Sig json.RawMessage `json:"sig"`
	}
	return json.Unmarshal(payload, &probe) == nil && (probe.V != nil || probe.Sig != nil)
}

// ParseEnvelope reads a signed command; every field must be there and well
// formed, and nothing else may be.
func ParseEnvelope(payload []byte) (Envelope, error) {
	var w wireEnvelope
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&w); err != nil {
		return Envelope{}, fmt.Errorf("envelope: %v", err)
	}
	if d.More() {
		return Envelope{}, fmt.Errorf("envelope: more after the object")
	}
	if w.V != envelopeVersion {
		return Envelope{}, fmt.Errorf("envelope: version %d, this gateway reads %d", w.V, envelopeVersion)
	}
	if err := CheckPrincipalName(w.Principal); err != nil {
		return Envelope{}, fmt.Errorf("envelope: %v", err)
	}
	ts, err := time.Parse(time.RFC3339Nano, w.TS)
	if err != nil {
		return Envelope{}, fmt.Errorf("envelope: ts: %v", err)
	}
	if len(w.Nonce) != 32 {
		return Envelope{}, fmt.Errorf("envelope: nonce: want 32 hex digits")
	}
	if _, err := hex.DecodeString(w.Nonce); err != nil {
		return Envelope{}, fmt.Errorf("envelope: nonce: want 32 hex digits")
	}
	if w.Counter == 0 || w.Counter > math.MaxInt64 {
		return Envelope{}, fmt.Errorf("envelope: counter: want a positive number below 2^63")
	}
	cmd, err := base64.StdEncoding.Strict().DecodeString(w.Cmd)
	if err != nil {
		return Envelope{}, fmt.Errorf("envelope: cmd: not base64: %v", err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(w.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Envelope{}, fmt.Errorf("envelope: sig: want %d bytes of base64", ed25519.SignatureSize)
	}
	return Envelope{Principal: w.Principal, TS: ts, Nonce: w.Nonce, Counter: w.Counter, Cmd: cmd, Sig: sig}, nil
}

// Verify checks e's signature by key for command name in room.
func (e Envelope) Verify(key ed25519.PublicKey, room, name string) error {
	if len(key) != ed25519.PublicKeySize || !ed25519.Verify(key, e.signedBytes(room, name), e.Sig) {
		return Errorf(EUNAUTHENTICATED, "%s: the signature of %q does not verify (another key, room or command, or changed on the way)", name, e.Principal)
	}
	return nil
}

// EnvelopeBytes bounds an envelope that carries a command of at most n
// bytes: base64 and the envelope's own fields.
func EnvelopeBytes(n int) int { return (n+2)/3*4 + 1024 }

// Commands are the names of every command a room takes.
var Commands = []string{"arm", "disarm", "bypass", "ack", "seal", "unseal", "visitor/register", "visitor/checkout",
	"personnel/replace", "carriers/replace", "carrier/signout", "carrier/approve", "carrier/return", "carrier/extend", "carrier/receive", "carrier/loss",
	"carrier/circulate", "carrier/confirm", "carrier/copy", "carrier/archive", "carrier/return-to-issuer", "carrier/destroy", "custody/transfer", "safe/combination-changed",
	"maintenance/request", "maintenance/approve", "maintenance/close", "inventory/run",
	"inventory/show", "safe/release", "events/resend", "calldown/replace"}

// IsCommand tells whether name is one of Commands.
func IsCommand(name string) bool { return slices.Contains(Commands, name) }

// ParsePublicKey reads a principal's public key: 32 bytes in base64.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("not an Ed25519 public key (%d bytes in base64, as `roomguard-dashboard keys` prints it)", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// FormatPublicKey writes a public key as ParsePublicKey reads it.
func FormatPublicKey(k ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(k) }
