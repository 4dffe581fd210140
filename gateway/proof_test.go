package gateway

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"strings"
	"testing"
)

func TestProof(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	head := ChainHash([]byte("x"))
	for _, body := range []string{`{}`, `{"state":"online","room":"r1"}`, ` {"a":{"proof":1}} `, `{"proof":{"seq":1}}`} {
		p, err := Prove(key, "r1", "status", 7, head, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		sent := string(p)
		got, proof, err := OpenProof(pub, "r1", "status", p)
		if string(p) != sent {
			t.Fatalf("opening changed the payload: %s", p)
		}
		if err != nil || string(got) != strings.TrimSpace(body) || proof.Seq != 7 || proof.Head != head {
			t.Fatalf("%s: opened %s %+v %v", p, got, proof, err)
		}
		// Another room, topic, seq, head or body: not the room's word.
		for what, open := range map[string]func() error{
			"room":  func() error { _, _, err := OpenProof(pub, "r2", "status", p); return err },
			"topic": func() error { _, _, err := OpenProof(pub, "r1", "mode", p); return err },
			"seq": func() error {
				_, _, err := OpenProof(pub, "r1", "status", []byte(strings.Replace(string(p), `"seq":7`, `"seq":8`, 1)))
				return err
			},
			"head": func() error {
				_, _, err := OpenProof(pub, "r1", "status", []byte(strings.Replace(string(p), head, ChainHash(nil), 1)))
				return err
			},
			"body": func() error {
				_, _, err := OpenProof(pub, "r1", "status", []byte(strings.Replace(string(p), "{", `{"x":1,`, 1)))
				return err
			},
			"key": func() error {
				other, _, _ := ed25519.GenerateKey(nil)
				_, _, err := OpenProof(other, "r1", "status", p)
				return err
			},
		} {
			if open() == nil {
				t.Errorf("%s: verified with another %s", p, what)
			}
		}
	}
	for _, bad := range []string{``, `{}`, `{"state":"online"}`, `{"proof":{"seq":1,"head":"` + head + `","sig":"AA=="},"x":1}`,
		`{"proof":{"seq":1,"head":"` + head + `","sig":"AA==","more":1}}`, `{"proof":{"seq":1,"head":"` + head + `"}}`,
		`[1,"proof":{}]`, `{"proof":{"seq":1,"head":"ab","sig":"AA=="}}`} {
		if _, _, err := OpenProof(pub, "r1", "status", []byte(bad)); err == nil {
			t.Errorf("%q verified", bad)
		}
	}
}

func FuzzUnprove(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(nil)
	p, _ := Prove(key, "r1", "mode", 3, ChainHash(nil), []byte(`{"mode":"armed"}`))
	f.Add(p)
	f.Add([]byte(`{"proof":{}}`))
	f.Add([]byte(`{,"proof":{"seq":1}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		body, proof, err := Unprove(payload)
		if err != nil {
			return
		}
		if proof.Verify(pub, "r1", "mode", body) {
			// Only what Prove made verifies; re-proving its body gives it back.
			again, err := Prove(key, "r1", "mode", proof.Seq, proof.Head, body)
			if err != nil {
				t.Fatalf("a verified body %q cannot be proven again: %v", body, err)
			}
			if _, _, err := OpenProof(pub, "r1", "mode", again); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// The signed examples in schemas/ verify with the example room's key (seed
// 43), each on its own topic only.
func TestSignedStateExamplesVerify(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{43}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	for file, topic := range map[string]string{"head/head.json": "head", "status/online-signed.json": "status"} {
		b, err := os.ReadFile("../schemas/examples/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := OpenProof(pub, "jiyao-301", topic, b); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		if _, _, err := OpenProof(pub, "jiyao-301", "mode", b); err == nil {
			t.Errorf("%s verifies as a mode", file)
		}
	}
}
