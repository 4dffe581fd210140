package chafon

import (
	"bytes"
	"encoding/hex"
	"slices"
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

// Frames as published for the UHFReader288 and as the UHFReader18 manual
// gives its inventory command.
const (
	reply288a = "15 00 01 03 01 01 0C E2 80 68 94 00 00 50 0A 9D 22 98 C6 48 25 7E"
	reply288b = "15 00 01 03 01 01 0C E2 80 68 94 00 00 40 0A 9D 22 A9 EB 5D F9 C3"
	reply288c = "0D 00 01 03 01 01 04 11 10 01 BA 46 5D 27"
)

func TestCommandsAsInTheManual(t *testing.T) {
	if got := Inventory(0xFF); !bytes.Equal(got, unhex(t, "04 FF 01 1B B4")) {
		t.Errorf("% X", got)
	}
	if got := Inventory(0x00); !bytes.Equal(got, unhex(t, "04 00 01 DB 4B")) {
		t.Errorf("% X", got)
	}
}

func TestPublished288Replies(t *testing.T) {
	var p Parser
	var epcs []string
	p.Feed(unhex(t, reply288a+reply288b+reply288c), func(r Response) {
		reads, err := Tags(r, Reader288)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range reads {
			if x.Antenna != 1 {
				t.Fatalf("antenna %d", x.Antenna)
			}
			epcs = append(epcs, x.EPC)
		}
	})
	want := []string{"E28068940000500A9D2298C6", "E28068940000400A9D22A9EB", "111001BA"}
	if strings.Join(epcs, " ") != strings.Join(want, " ") {
		t.Fatalf("%v", epcs)
	}
	if !bytes.Equal(InventoryFrame(0, Reader288, StatusMore, 1, [][]byte{unhex(t, "E28068940000500A9D2298C6")}, 0x48), unhex(t, reply288a)) {
		t.Fatal("InventoryFrame differs from the published reply")
	}
}

// Several tags in one UHFReader18 response; the 288's antenna bits.
func TestTags(t *testing.T) {
	epcs := [][]byte{unhex(t, "300833B2DDD9014000000001"), unhex(t, "300833B2DDD9014000000002"), unhex(t, "AABB")}
	var got []uhf.Read
	var p Parser
	p.Feed(InventoryFrame(0, Reader18, StatusDone, 1, epcs, 0), func(r Response) {
		reads, err := Tags(r, Reader18)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, reads...)
	})
	if len(got) != 3 || got[2].EPC != "AABB" {
		t.Fatalf("%+v", got)
	}
	p.Feed(InventoryFrame(0, Reader288, StatusDone, 3, epcs[:1], 0x50), func(r Response) {
		reads, _ := Tags(r, Reader288)
		if len(reads) != 1 || reads[0].Antenna != 3 || reads[0].RSSI != 0x50 {
			t.Fatalf("%+v", reads)
		}
	})
	if InventoryFrame(0, Reader288, StatusDone, 1, slices.Repeat(epcs[:1], 18), 0) != nil {
		t.Error("18 tags do not fit in one frame")
	}
	// A count larger than the tags present, and bytes left over: refused.
	for _, d := range [][]byte{{2, 2, 0xAA, 0xBB}, {1, 2, 0xAA, 0xBB, 0xCC}, {1, 0}} {
		if _, err := Tags(Response{Cmd: CmdInventory, Status: StatusDone, Data: d}, Reader18); err == nil {
			t.Errorf("% X accepted", d)
		}
	}
	if reads, err := Tags(Response{Cmd: CmdInventory, Status: StatusNoTag}, Reader288); err != nil || reads != nil {
		t.Errorf("no tag: %v %v", reads, err)
	}
}

func TestParserResyncs(t *testing.T) {
	good := unhex(t, reply288a)
	bad := append([]byte(nil), good...)
	bad[8] ^= 0x10
	stream := bytes.Join([][]byte{{0x00, 0xFF, 0x07}, good, bad, {0x15}, good, {0x06, 0x01}}, nil)
	for cut := 1; cut <= len(stream); cut++ {
		var p Parser
		n := 0
		count := func(Response) { n++ }
		for i := 0; i < len(stream); i += cut {
			p.Feed(stream[i:min(i+cut, len(stream))], count)
		}
		p.Flush(count)
		if n != 2 {
			t.Fatalf("cut %d: %d frames (%+v)", cut, n, p.Stats)
		}
	}
}

func FuzzParser(f *testing.F) {
	f.Add(unhex(f, reply288a), true)
	f.Add(unhex(f, reply288c+reply288b), true)
	f.Add(unhex(f, "05 00 01 FB 00 00"), false)
	f.Fuzz(func(t *testing.T, b []byte, is288 bool) {
		m := Reader18
		if is288 {
			m = Reader288
		}
		var p Parser
		h := func(r Response) {
			if reads, err := Tags(r, m); err == nil {
				for _, x := range reads {
					if x.EPC == "" || x.Antenna < 1 {
						t.Fatalf("read %+v", x)
					}
				}
			}
		}
		p.Feed(b, h)
		p.Flush(h)
		if len(p.buf) != 0 {
			t.Fatal("bytes left after a flush")
		}
	})
}

// Decoding speed: responses of 15 tags each (as many 12-byte EPCs as a
// 288 response holds is 17), parsed and decoded.
func BenchmarkDecodeInventory(b *testing.B) {
	var stream []byte
	for i := 0; i < 50; i++ {
		var epcs [][]byte
		for j := 0; j < 15; j++ {
			e := unhex(b, "E28068940000500A9D2298C6")
			e[10], e[11] = byte(i), byte(j)
			epcs = append(epcs, e)
		}
		stream = append(stream, InventoryFrame(0, Reader288, StatusMore, 1, epcs, 0x48)...)
	}
	var p Parser
	n := 0
	b.SetBytes(int64(len(stream)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Feed(stream, func(r Response) {
			reads, _ := Tags(r, Reader288)
			n += len(reads)
		})
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tags/s")
}
