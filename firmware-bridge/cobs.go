package bridge

import "errors"

// COBS (Cheshire & Baker, "Consistent Overhead Byte Stuffing", 1999) removes
// every zero byte from a frame, so 0x00 can end frames on the wire.

// cobsEncode appends the COBS encoding of src to dst (without the 0x00
// delimiter).
func cobsEncode(dst, src []byte) []byte {
	code := len(dst)
	dst = append(dst, 0)
	n := byte(1)
	for i, b := range src {
		if b == 0 {
			dst[code] = n
			code, n = len(dst), 1
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, b)
		n++
		if n == 0xFF && i+1 < len(src) { // a full block; a new one only if more follows
			dst[code] = n
			code, n = len(dst), 1
			dst = append(dst, 0)
		}
	}
	dst[code] = n
	return dst
}

var errCOBS = errors.New("bad COBS encoding")

// cobsDecode decodes one encoded frame (without its delimiter).
func cobsDecode(src []byte) ([]byte, error) {
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); {
		code := int(src[i])
		if code == 0 || i+code > len(src) {
			return nil, errCOBS
		}
		for _, b := range src[i+1 : i+code] {
			if b == 0 {
				return nil, errCOBS
			}
		}
		out = append(out, src[i+1:i+code]...)
		i += code
		if code < 0xFF && i < len(src) {
			out = append(out, 0)
		}
	}
	return out, nil
}
