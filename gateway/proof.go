package gateway

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Proof is what the room adds to everything it publishes besides its events
// (issue 18): its retained state, its replies, its last will. Seq and Head
// are the chain's head when it was signed (the last event logged then and
// its hash, gateway.ChainHash), Sig the room's signature over them, the room,
// the topic and the payload. A consumer holding the room's public key tells
// the room's word from a forgery; a state's Seq orders it (an older one
// sent again is not news); and Head vouches for the events up to Seq: each
// event's hash is the prev of the one after.
//
// The proof is the payload's last member, "proof"; the bytes signed are the
// payload without it (see Prove). An empty payload, which clears a retained
// topic, cannot carry one: a consumer believes a closing only from the
// chain (an alarm.closed event).
type Proof struct {
	Seq  uint64 `json:"seq"`
	Head string `json:"head"`
	Sig  string `json:"sig"`
}

var proofMember = []byte(`"proof":`)

func proofBytes(room, topic string, seq uint64, head string, body []byte) []byte {
	b := make([]byte, 0, 64+len(room)+len(topic)+len(head)+len(body))
	b = append(b, "roomguard state v1\x00"...)
	b = append(b, room...)
	b = append(b, 0)
	b = append(b, topic...)
	b = append(b, 0)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, 0)
	b = append(b, head...)
	b = append(b, 0)
	return append(b, body...)
}

// Prove signs body, a JSON object the room publishes on topic (the part
// after roomguard/<room>/), as of the chain's head seq/head, and returns it
// with its proof as the last member.
func Prove(key ed25519.PrivateKey, room, topic string, seq uint64, head string, body []byte) ([]byte, error) {
	body = bytes.TrimSpace(body)
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return nil, fmt.Errorf("prove %s: not a JSON object", topic)
	}
	p := Proof{Seq: seq, Head: head, Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(key, proofBytes(room, topic, seq, head, body)))}
	pj, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body)+len(pj)+10)
	out = append(out, body[:len(body)-1]...)
	if len(bytes.TrimSpace(body[1:len(body)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, proofMember...)
	out = append(out, pj...)
	return append(out, '}'), nil
}

// ErrNoProof is Unprove's answer for a payload that carries no proof.
var ErrNoProof = errors.New("no proof")

// Unprove splits a payload Prove made into the body that was signed and
// its proof (not yet verified: see Proof.Verify).
func Unprove(payload []byte) (body []byte, p Proof, err error) {
	payload = bytes.TrimSpace(payload)
	i := bytes.LastIndex(payload, proofMember)
	if i < 1 || payload[len(payload)-1] != '}' {
		return nil, p, ErrNoProof
	}
	prefix := bytes.TrimSpace(payload[:i])
	switch {
	case len(prefix) == 1 && prefix[0] == '{':
		body = []byte("{}")
	case len(prefix) > 1 && prefix[0] == '{' && prefix[len(prefix)-1] == ',':
		inner := bytes.TrimSpace(prefix[:len(prefix)-1])
		body = append(append(make([]byte, 0, len(inner)+1), inner...), '}') // a copy: the payload is left as it came
	default:
		return nil, p, fmt.Errorf("the proof is not the payload's last member")
	}
	dec := json.NewDecoder(bytes.NewReader(payload[i+len(proofMember) : len(payload)-1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, p, fmt.Errorf("the proof: %w", err)
	}
	if dec.More() {
		return nil, p, fmt.Errorf("the proof is not the payload's last member")
	}
	if len(p.Head) != 64 || p.Sig == "" {
		return nil, p, fmt.Errorf("the proof lacks its head or signature")
	}
	return body, p, nil
}

// Verify tells whether the room's key signed body on topic with this proof.
func (p Proof) Verify(key ed25519.PublicKey, room, topic string, body []byte) bool {
	sig, err := base64.StdEncoding.DecodeString(p.Sig)
	return err == nil && len(key) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize &&
		ed25519.Verify(key, proofBytes(room, topic, p.Seq, p.Head, body), sig)
}

// OpenProof reads a payload the room published on topic: its body once the
// room's key verifies it, and the proof.
func OpenProof(key ed25519.PublicKey, room, topic string, payload []byte) ([]byte, Proof, error) {
	body, p, err := Unprove(payload)
	if err != nil {
		return nil, p, err
	}
	if !p.Verify(key, room, topic, body) {
		return nil, p, fmt.Errorf("the room's key did not sign it")
	}
	return body, p, nil
}

// KeyFingerprint is a public key's short form for people to compare: the
// first 16 hex digits of its SHA-256, in groups of four.
func KeyFingerprint(k ed25519.PublicKey) string {
	h := ChainHash(k)[:16]
	return h[0:4] + " " + h[4:8] + " " + h[8:12] + " " + h[12:16]
}
