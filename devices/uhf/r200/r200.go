package r200

import "github.com/roomguard/roomguard/devices/uhf"

// Reader is the R200 family's side of uhf.Run: it polls with single polls
// and decodes the notices.
type Reader struct {
	Parser Parser
	// Misreads counts notices thrown away (tag CRC, a PC that does not
	// match the length).
	Misreads int
	// LastError is the last error code the module answered.
	LastError byte
}

// Poll implements uhf.Protocol.
func (r *Reader) Poll() []byte { return SinglePoll() }

// Feed implements uhf.Protocol. A poll's answer is complete when the module
// says it found no tag (or another error); notices have no end marker, so a
// poll with tags ends with uhf.Run's window.
func (r *Reader) Feed(b []byte, fn func(uhf.Read)) (answered, done bool) {
	return r.feed(func(h func(Frame)) { r.Parser.Feed(b, h) }, fn)
}

// Quiet implements uhf.Protocol.
func (r *Reader) Quiet(fn func(uhf.Read)) { r.feed(r.Parser.Flush, fn) }

func (r *Reader) feed(parse func(func(Frame)), fn func(uhf.Read)) (answered, done bool) {
	parse(func(f Frame) {
		answered = true
		if code, ok := ErrorCode(f); ok {
			if code != ErrNoTag {
				r.LastError = code
			}
			done = true
			return
		}
		if f.Type != TypeNotice {
			return
		}
		read, err := Notice(f)
		if err != nil {
			r.Misreads++
			return
		}
		fn(read)
	})
	return answered, done
}
