package gateway

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"testing"
	"time"
)

func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

func TestEnvelopeRoundTrip(t *testing.T) {
	k := testKey()
	cmd := []byte(`{"id":"a1","by":"li.ming"}`)
	at := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
	b, err := SignCommand(k, "console-1", "jiyao-301", "arm", cmd, at, 42)
	if err != nil {
		t.Fatal(err)
	}
	if !IsEnvelope(b) || IsEnvelope(cmd) {
		t.Fatal("IsEnvelope is wrong")
	}
	e, err := ParseEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.Principal != "console-1" || e.Counter != 42 || !e.TS.Equal(at.Truncate(time.Millisecond)) || !bytes.Equal(e.Cmd, cmd) {
		t.Fatalf("read back %+v", e)
	}
	pub := k.Public().(ed25519.PublicKey)
	if err := e.Verify(pub, "jiyao-301", "arm"); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{{"jiyao-302", "arm"}, {"jiyao-301", "disarm"}} {
		if err := e.Verify(pub, c[0], c[1]); err == nil {
			t.Errorf("a signature for jiyao-301/arm verifies for %s/%s", c[0], c[1])
		}
	}
}

// FuzzParseEnvelope: no bytes crash the decoder, and whatever it accepts
// verifies only with the signer's key.
func FuzzParseEnvelope(f *testing.F) {
	k := testKey()
	good, _ := SignCommand(k, "console-1", "r1", "arm", []byte(`{"id":"a1","by":"x"}`), time.Unix(1764237600, 0), 1)
	f.Add(good)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"principal":"p","ts":"2026-11-27T10:00:00.000Z","nonce":"00000000000000000000000000000000","counter":1,"cmd":"e30=","sig":""}`))
	f.Add([]byte(`{"v":2,"sig":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEnvelope(b)
		if err != nil {
			return
		}
		if e.Verify(testKeyOther().Public().(ed25519.PublicKey), "r1", "arm") == nil {
			t.Fatalf("verified with another key: %q", b)
		}
	})
}

func testKeyOther() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
}

// The signed example in schemas/ verifies with the example principal's key
// (seed 42, public key GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=), for
// jiyao-301's arm only.
func TestSignedExampleVerifies(t *testing.T) {
	b, err := os.ReadFile("../schemas/examples/envelope/arm.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePublicKey("GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Verify(key, "jiyao-301", "arm"); err != nil || string(e.Cmd) != `{"id":"a1","by":"p001"}` {
		t.Fatalf("the example: %v %s", err, e.Cmd)
	}
	if e.Verify(key, "jiyao-301", "disarm") == nil {
		t.Fatal("the example verifies as a disarm")
	}
}
