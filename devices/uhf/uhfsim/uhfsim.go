// Package uhfsim is a simulated UHF reader on the device side of a serial
// line: it answers the polls of an R200 module or the inventories of a
// Chafon reader with the tags placed in its antennas' fields. The simulated
// room and the tests use it, so the real drivers run against real frames.
package uhfsim

import (
	"io"
	"slices"
	"sync"

	"github.com/roomguard/roomguard/devices/uhf/chafon"
	"github.com/roomguard/roomguard/devices/uhf/r200"
)

// Kind is the protocol the reader speaks.
type Kind int

const (
	R200 Kind = iota
	Chafon18
	Chafon288
)

// Reader is one simulated reader.
type Reader struct {
	kind Kind
	rw   io.ReadWriter

	mu      sync.Mutex
	fields  map[int][][]byte // antenna → EPCs in its field
	silent  bool
	reading func()
}

// OnReading sets fn to be called just before an answer that reports tags
// is written: the moment the reader reads them (for latency figures).
func (r *Reader) OnReading(fn func()) {
	r.mu.Lock()
	r.reading = fn
	r.mu.Unlock()
}

// New returns a reader speaking kind on rw.
func New(kind Kind, rw io.ReadWriter) *Reader {
	return &Reader{kind: kind, rw: rw, fields: map[int][][]byte{}}
}

// Field puts exactly these tags in the field of antenna (1-based).
func (r *Reader) Field(antenna int, epcs ...[]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fields[antenna] = slices.Clone(epcs)
}

// Silence makes the reader stop answering (true) or answer again.
func (r *Reader) Silence(on bool) {
	r.mu.Lock()
	r.silent = on
	r.mu.Unlock()
}

// Serve answers commands until the line fails.
func (r *Reader) Serve() error {
	var rp r200.Parser
	buf := make([]byte, 256)
	for {
		n, err := r.rw.Read(buf)
		if err != nil && err != io.EOF {
			return err
		}
		if n == 0 && err == io.EOF {
			continue
		}
		if r.kind == R200 {
			var polls int
			rp.Feed(buf[:n], func(f r200.Frame) {
				if f.Type == r200.TypeCommand && f.Cmd == r200.CmdSinglePoll {
					polls++
				}
			})
			for range polls {
				if err := r.write(r.answerR200()); err != nil {
					return err
				}
			}
			continue
		}
		// A Chafon command: Len Adr Cmd … CRC; answer each inventory.
		for _, cmd := range chafonCommands(buf[:n]) {
			if cmd == chafon.CmdInventory {
				if err := r.write(r.answerChafon()); err != nil {
					return err
				}
			}
		}
	}
}

func (r *Reader) write(b []byte) error {
	if b == nil {
		return nil
	}
	if fn := r.readingFn(); fn != nil {
		fn()
	}
	_, err := r.rw.Write(b)
	return err
}

// readingFn is the OnReading callback when tags are in a field.
func (r *Reader) readingFn() func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.fields {
		if len(f) > 0 {
			return r.reading
		}
	}
	return nil
}

func (r *Reader) answerR200() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.silent {
		return nil
	}
	var out []byte
	for _, epc := range r.fields[1] {
		out = append(out, r200.NoticeFrame(epc, -52)...)
	}
	if out == nil {
		out = r200.Encode(r200.TypeResponse, r200.CmdError, []byte{r200.ErrNoTag})
	}
	return out
}

func (r *Reader) answerChafon() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.silent {
		return nil
	}
	model := chafon.Reader18
	if r.kind == Chafon288 {
		model = chafon.Reader288
	}
	antennas := []int{1}
	if model == chafon.Reader288 {
		antennas = slices.Sorted(func(yield func(int) bool) {
			for a := range r.fields {
				if !yield(a) {
					return
				}
			}
		})
	}
	type chunk struct {
		antenna int
		epcs    [][]byte
	}
	var chunks []chunk
	for _, a := range antennas {
		// As many tags per response as fit in a frame; more follow with
		// status 03.
		tags := r.fields[a]
		for len(tags) > 0 {
			n := 1
			for n < len(tags) && chafon.InventoryFrame(0, model, 0, a, tags[:n+1], 0) != nil {
				n++
			}
			chunks = append(chunks, chunk{a, tags[:n]})
			tags = tags[n:]
		}
	}
	if len(chunks) == 0 {
		return chafon.InventoryFrame(0, model, chafon.StatusNoTag, 1, nil, 0)
	}
	var out []byte
	for i, c := range chunks {
		status := byte(chafon.StatusMore)
		if i == len(chunks)-1 {
			status = chafon.StatusDone
		}
		out = append(out, chafon.InventoryFrame(0, model, status, c.antenna, c.epcs, 0x48)...)
	}
	return out
}

// chafonCommands finds the commands in bytes from the host: Len Adr Cmd
// Data CRC, with the CRC checked.
func chafonCommands(b []byte) []byte {
	var cmds []byte
	for i := 0; i < len(b); {
		n := int(b[i])
		if n < 4 || i+n+1 > len(b) {
			break
		}
		f := b[i : i+n+1]
		if chafon.CRC16(f[:n-1]) == uint16(f[n-1])|uint16(f[n])<<8 {
			cmds = append(cmds, f[2])
			i += n + 1
			continue
		}
		i++
	}
	return cmds
}
