package r200

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/devices/uhf"
)

func unhex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The module manual's frames.
const (
	manualNotice = "BB 02 22 00 11 C9 34 00 30 75 1F EB 70 5C 59 04 E3 D5 0D 70 3A 76 EF 7E"
	manualNoTag  = "BB 01 FF 00 01 15 16 7E"
)

func TestCommandsAsInTheManual(t *testing.T) {
	for _, c := range []struct {
		got  []byte
		want string
	}{
		{SinglePoll(), "BB 00 22 00 00 22 7E"},
		{MultiPoll(10000), "BB 00 27 00 03 22 27 10 83 7E"},
		{StopPoll(), "BB 00 28 00 00 28 7E"},
	} {
		if !bytes.Equal(c.got, unhex(t, c.want)) {
			t.Errorf("% X, want %s", c.got, c.want)
		}
	}
}

func TestManualNotice(t *testing.T) {
	var p Parser
	var frames []Frame
	p.Feed(unhex(t, manualNotice+manualNoTag), func(f Frame) {
		frames = append(frames, Frame{f.Type, f.Cmd, append([]byte(nil), f.Params...)})
	})
	if len(frames) != 2 {
		t.Fatalf("%d frames", len(frames))
	}
	r, err := Notice(frames[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.EPC != "30751FEB705C5904E3D50D70" || r.PC != 0x3400 || r.RSSI != -55 || r.Antenna != 1 {
		t.Fatalf("%+v", r)
	}
	if code, ok := ErrorCode(frames[1]); !ok || code != ErrNoTag {
		t.Fatalf("no-tag response: %v %v", code, ok)
	}
	if !bytes.Equal(NoticeFrame(unhex(t, "30751FEB705C5904E3D50D70"), -55), unhex(t, manualNotice)) {
		t.Fatal("NoticeFrame differs from the manual's")
	}
}

// Noise before, between and inside frames; 7E and BB inside the data; the
// stream cut anywhere: every good frame is found, every bad one counted.
func TestParserResyncs(t *testing.T) {
	epc := unhex(t, "7E BB 7E BB 00 11 22 33 44 55 66 77") // delimiters inside the data
	good := NoticeFrame(epc, -40)
	bad := append([]byte(nil), good...)
	bad[10] ^= 0xFF // checksum no longer holds
	stream := bytes.Join([][]byte{{0x00, 0x7E, 0x11}, good, {0xBB, 0xBB}, bad, good, {0xBB, 0x00, 0xFF, 0xFF}, good}, nil)
	for cut := 1; cut <= len(stream); cut++ {
		var p Parser
		var epcs []string
		found := func(f Frame) {
			if r, err := Notice(f); err == nil {
				epcs = append(epcs, r.EPC)
			}
		}
		for i := 0; i < len(stream); i += cut {
			p.Feed(stream[i:min(i+cut, len(stream))], found)
		}
		p.Flush(found) // the line goes quiet
		if len(epcs) != 3 || epcs[0] != "7EBB7EBB0011223344556677" {
			t.Fatalf("cut %d: %v (%+v)", cut, epcs, p.Stats)
		}
	}
}

func TestNoticeRefusesMisreads(t *testing.T) {
	good := NoticeFrame(unhex(t, "E2806894000050 0A9D2298C6"), -60)
	var f Frame
	var p Parser
	p.Feed(good, func(fr Frame) { f = Frame{fr.Type, fr.Cmd, append([]byte(nil), fr.Params...)} })
	crc := f
	crc.Params = append([]byte(nil), f.Params...)
	crc.Params[5] ^= 1 // one EPC bit flipped: the tag CRC catches it
	if _, err := Notice(crc); err != ErrTagCRC {
		t.Errorf("flipped bit: %v", err)
	}
	short := Frame{TypeNotice, CmdSinglePoll, f.Params[:len(f.Params)-1]}
	if _, err := Notice(short); err == nil {
		t.Error("a notice shorter than its PC says accepted")
	}
	if _, err := Notice(Frame{TypeResponse, CmdSinglePoll, f.Params}); err == nil {
		t.Error("a response taken for a notice")
	}
}

// The Reader side of uhf.Run: notices become reads, "no tag" ends the poll.
func TestReaderFeed(t *testing.T) {
	var r Reader
	var reads []uhf.Read
	answered, done := r.Feed(append(NoticeFrame(unhex(t, "300833B2DDD9014000000001"), -50), unhex(t, manualNoTag)...), func(x uhf.Read) { reads = append(reads, x) })
	if !answered || !done || len(reads) != 1 || reads[0].EPC != "300833B2DDD9014000000001" {
		t.Fatalf("%v %v %+v", answered, done, reads)
	}
	if answered, _ := r.Feed([]byte{0x01, 0x02}, func(uhf.Read) {}); answered {
		t.Fatal("noise taken for an answer")
	}
}

func FuzzParser(f *testing.F) {
	f.Add(unhex(f, manualNotice))
	f.Add(unhex(f, manualNoTag))
	f.Add(unhex(f, "BB 02 22 00 11 C9 34 00 30 75 1F EB 70 5C 59 04 E3 D5 0D 70 3A 76 EF"))
	f.Add([]byte{0xBB, 0x00, 0x00, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Parser
		p.Feed(b, func(fr Frame) {
			// A frame found re-encodes to the bytes it came from.
			if !bytes.Contains(b, Encode(fr.Type, fr.Cmd, fr.Params)) {
				t.Fatalf("frame %+v is not in the input", fr)
			}
			if r, err := Notice(fr); err == nil && len(r.EPC) != uhf.EPCBytes(r.PC)*2 {
				t.Fatalf("EPC %s for PC %04X", r.EPC, r.PC)
			}
		})
		if len(p.buf) > len(b) {
			t.Fatalf("buffer of %d bytes after %d", len(p.buf), len(b))
		}
	})
}

// Decoding speed: a stream of notices, parsed and decoded.
func BenchmarkDecodeNotices(b *testing.B) {
	var stream []byte
	for i := 0; i < 1000; i++ {
		epc := unhex(b, "E28068940000500A9D2298C6")
		epc[11] = byte(i)
		epc[10] = byte(i >> 8)
		stream = append(stream, NoticeFrame(epc, -50)...)
	}
	var p Parser
	n := 0
	b.SetBytes(int64(len(stream)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Feed(stream, func(f Frame) {
			if _, err := Notice(f); err == nil {
				n++
			}
		})
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "notices/s")
}
