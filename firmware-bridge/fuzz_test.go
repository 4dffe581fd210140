package bridge

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// FuzzDecode: any bytes on the line are cut into frames and decoded
// without a panic; whatever decodes is a well-formed frame that encodes
// back to exactly the bytes it came from.
func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile(vectorsFile); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if w := strings.Fields(sc.Text()); len(w) > 1 && w[0] != "#" {
				wire, _ := hex.DecodeString(w[1])
				f.Add(wire)
			}
		}
	}
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, line []byte) {
		var s Splitter
		s.Feed(line, func(enc []byte, err error) {
			if err != nil {
				return
			}
			fr, err := Decode(enc)
			if err != nil {
				return
			}
			if !bytes.Equal(fr.Encode(), append(append([]byte(nil), enc...), 0)) {
				t.Fatalf("%x decodes as %v, which encodes as %x", enc, fr, fr.Encode())
			}
			_ = fr.Message()
		})
	})
}
