package bridge

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestCRCCheckValue(t *testing.T) {
	if got := CRC16([]byte("123456789")); got != 0x29B1 {
		t.Fatalf("CRC-16/CCITT-FALSE of 123456789 = %04X, want 29B1", got)
	}
}

// The examples of Cheshire & Baker's COBS, as usually quoted.
func TestCOBSExamples(t *testing.T) {
	long := bytes.Repeat([]byte{0x01}, 254)
	for _, c := range []struct{ in, out string }{
		{"00", "0101"}, {"0000", "010101"}, {"11220033", "0311220233"}, {"11223344", "0511223344"}, {"11000000", "0211010101"},
		{hex.EncodeToString(long), "ff" + hex.EncodeToString(long)},
		{hex.EncodeToString(append(long, 0x02)), "ff" + hex.EncodeToString(long) + "0202"},
	} {
		in, _ := hex.DecodeString(c.in)
		enc := cobsEncode(nil, in)
		if hex.EncodeToString(enc) != c.out {
			t.Errorf("COBS(%s) = %x, want %s", c.in, enc, c.out)
		}
		back, err := cobsDecode(enc)
		if err != nil || !bytes.Equal(back, in) {
			t.Errorf("decode(%x) = %x, %v", enc, back, err)
		}
	}
}

var update = flag.Bool("update", false, "write testdata/vectors.txt anew")

// vectors are the cases both decoders (this one and the firmware's) are
// checked against. A line: "ok WIRE TYPE SEQ PAYLOAD" or "bad WIRE crc|frame",
// WIRE being the bytes on the line with the 0x00 delimiter, in hex.
func vectors() []string {
	good := []Frame{
		Hello{Proto: 1, FWMajor: 1, FWMinor: 0, Caps: 7, Zones: 4, Locks: 2, Relays: 2, Reset: ResetPowerOn, Boots: 3}.Frame(),
		Heartbeat{UptimeMS: 1000}.Frame(),
		Heartbeat{UptimeMS: 0xFFFFFFFF, BadCRC: 1, BadFrame: 0x0100, Dup: 0, Retx: 0xFFFF}.Frame(),
		Zone{Zone: 0, State: ZoneAlarm, ADC: 700}.Frame(),
		Zone{Zone: 3, State: ZoneTamperCut, ADC: 1023}.Frame(),
		Zone{Zone: 1, State: ZoneNormal, ADC: 0}.Frame(),
		Lock{Lock: 1, State: LockJammed, BatteryLow: true}.Frame(),
		BoardError{Code: ErrBadValue, RefType: byte(TUnlock), RefSeq: 9, Detail: 0}.Frame(),
		AckFrame(255), AckFrame(0),
		UnlockFrame(0, 3000), UnlockFrame(1, 10000), RelayFrame(1, true), SyncFrame(),
	}
	seqs := []byte{1, 0, 0, 2, 255, 7, 128, 3, 0, 0, 1, 2, 3, 0}
	var lines []string
	ok := func(f Frame) {
		lines = append(lines, fmt.Sprintf("ok %x %d %d %s", f.Encode(), f.Type, f.Seq, payloadHex(f.Payload)))
	}
	bad := func(wire []byte, kind string) { lines = append(lines, fmt.Sprintf("bad %x %s", wire, kind)) }
	for i, f := range good {
		f.Seq = seqs[i]
		ok(f)
	}
	z := Zone{Zone: 2, State: ZoneAlarm, ADC: 650}.Frame()
	z.Seq = 5
	raw := z.Raw()
	withRaw := func(mut func([]byte) []byte) []byte {
		r := mut(append([]byte(nil), raw...))
		return append(cobsEncode(nil, r), 0)
	}
	bad(withRaw(func(r []byte) []byte { r[len(r)-1] ^= 0x01; return r }), "crc")            // CRC corrupted
	bad(withRaw(func(r []byte) []byte { r[4] ^= 0x80; return r }), "crc")                   // a payload bit flipped
	bad(withRaw(func(r []byte) []byte { return r[:len(r)-1] }), "crc")                      // truncated by one byte
	bad(withRaw(func(r []byte) []byte { return r[:2] }), "frame")                           // shorter than a frame
	bad(withRaw(func(r []byte) []byte { r[0] = 2; return fixCRC(r) }), "frame")             // version 2
	bad(withRaw(func(r []byte) []byte { r[1] = 0x7F; return fixCRC(r) }), "frame")          // unknown type
	bad(withRaw(func(r []byte) []byte { return fixCRC(append(r[:len(r)-2], 0)) }), "frame") // one payload byte too many
	bad(withRaw(func(r []byte) []byte { r[2] = 0; return fixCRC(r) }), "frame")             // a sequenced type with seq 0
	bad(withRaw(func(r []byte) []byte { return AckFrame(1).withSeq(4).Raw() }), "frame")    // an unsequenced type with a seq
	bad([]byte{0x05, 0x01, 0x03, 0x00}, "frame")                                            // COBS code past the end
	bad(append(bytes.Repeat([]byte{0x11}, MaxEncoded+1), 0), "frame")                       // overlong
	bad(append(z.Encode()[:len(z.Encode())-3], 0), "frame")                                 // cut short on the line
	return lines
}

func (f Frame) withSeq(s byte) Frame { f.Seq = s; return f }

func fixCRC(r []byte) []byte {
	body := r[:len(r)-2]
	c := CRC16(body)
	return append(body, byte(c>>8), byte(c))
}

func payloadHex(p []byte) string {
	if len(p) == 0 {
		return "-"
	}
	return hex.EncodeToString(p)
}

const vectorsFile = "testdata/vectors.txt"

// TestVectors: every line of the vectors file decodes as it says, and every
// good frame encodes to its line byte for byte.
func TestVectors(t *testing.T) {
	if *update {
		head := "# Board protocol test vectors (PROTOCOL.md); written by go test -run TestVectors -update in firmware-bridge.\n" +
			"# ok WIRE TYPE SEQ PAYLOAD  |  bad WIRE crc|frame    (WIRE: the bytes on the line, 0x00 included, in hex)\n"
		if err := os.WriteFile(vectorsFile, []byte(head+strings.Join(vectors(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(vectors(), "\n"); !strings.Contains(string(b), got) {
		t.Fatalf("%s is not what this code writes: run go test -run TestVectors -update and look at the diff", vectorsFile)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		n++
		w := strings.Fields(line)
		wire, _ := hex.DecodeString(w[1])
		var frames []Frame
		var errs []error
		var s Splitter
		s.Feed(wire, func(enc []byte, err error) {
			if err == nil {
				var f Frame
				f, err = Decode(enc)
				frames = append(frames, f)
			}
			errs = append(errs, err)
		})
		if len(errs) != 1 {
			t.Errorf("%s: %d frames", line, len(errs))
			continue
		}
		switch w[0] {
		case "ok":
			typ, _ := strconv.Atoi(w[2])
			seq, _ := strconv.Atoi(w[3])
			f := frames[0]
			if errs[0] != nil || int(f.Type) != typ || int(f.Seq) != seq || payloadHex(f.Payload) != w[4] {
				t.Errorf("%s: decoded %v, %v", line, f, errs[0])
			}
			if !bytes.Equal(f.Encode(), wire) {
				t.Errorf("%s: encodes as %x", line, f.Encode())
			}
		case "bad":
			var fe *FrameError
			if !errors.As(errs[0], &fe) || (fe.Kind == BadCRC) != (w[2] == "crc") {
				t.Errorf("%s: got %v", line, errs[0])
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d vectors", n)
	}
}
