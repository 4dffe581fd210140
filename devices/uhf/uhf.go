// Package uhf holds what every UHF (EPC Gen2, 860–960 MHz) reader reports: a
// tag read with its EPC, where it was read (the antenna) and how strongly,
// and the filter that turns a reader's stream of repeated reads into
// sightings. The readers are in subpackages: r200 (the R200 / JRD-4035 /
// YRM100 module family) and chafon (UHFReader18 and UHFReader288).
package uhf

import (
	"sync"
	"time"

	"github.com/roomguard/roomguard/devices/crc16"
)

// Read is one read of a tag.
type Read struct {
	EPC     string    // upper-case hex
	PC      uint16    // the tag's protocol-control word, when the reader reports it
	RSSI    int       // signal strength as the reader reports it (R200: dBm), 0 when it does not
	Antenna int       // 1-based; 1 on a single-antenna reader
	At      time.Time // when it was read
}

// DefaultWindow is how long repeated reads of a tag at one antenna count as
// one sighting. A tag in a safe is read several times a second; it is
// reported again once a window has passed, so whoever tracks presence sees
// it stay.
const DefaultWindow = 5 * time.Second

// Dedup turns repeated reads into sightings.
type Dedup struct {
	Window time.Duration

	mu    sync.Mutex
	last  map[key]time.Time
	calls int
}

type key struct {
	epc     string
	antenna int
}

// New reports whether r is a new sighting: the first read of its tag at its
// antenna, or the first after a window.
func (d *Dedup) New(r Read) bool {
	w := d.Window
	if w == 0 {
		w = DefaultWindow
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		d.last = map[key]time.Time{}
	}
	if d.calls++; d.calls%4096 == 0 { // forget tags gone for a window, so the map stays small
		for k, at := range d.last {
			if r.At.Sub(at) >= w {
				delete(d.last, k)
			}
		}
	}
	k := key{r.EPC, r.Antenna}
	at, seen := d.last[k]
	if seen && r.At.Sub(at) < w && !r.At.Before(at) {
		return false
	}
	d.last[k] = r.At
	return true
}

// CRC16Gen2 is the CRC-16 an EPC Gen2 tag stores over its PC and EPC
// (ISO/IEC 18000-63: polynomial 0x1021, preset 0xFFFF, sent inverted).
func CRC16Gen2(b []byte) uint16 { return ^crc16.CCITT(b) }

// EPCBytes is the EPC length a PC word announces: its top five bits count
// 16-bit words.
func EPCBytes(pc uint16) int { return int(pc>>11) * 2 }
