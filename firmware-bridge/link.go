package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Link timings (PROTOCOL.md "Reliability").
const (
	Retransmit = 200 * time.Millisecond
	Tries      = 5
	SyncEvery  = 500 * time.Millisecond
	// Silence is how long a board may say nothing before it is taken as
	// failed (it sends a heartbeat at least every second).
	Silence = 3 * time.Second
)

// Handler is told what a board says. Its methods are called from the
// link's own goroutine, one at a time, in the order the board said it.
type Handler interface {
	// Hello: the board started, or answers SYNC; reset tells that it had
	// said hello before and has booted since (its boot count moved).
	Hello(h Hello, reset bool)
	Zone(z Zone)
	Lock(l Lock)
	Heartbeat(h Heartbeat)
	BoardError(e BoardError)
	// Silent is called when the board has said nothing for Silence (true),
	// and when it speaks again (false).
	Silent(silent bool)
}

// Counters are what a link refused.
type Counters struct {
	BadCRC, BadFrame, Dup, Retx uint64
	WriteErrs                   uint64 // frames the line refused to take
}

// Link keeps a board's frames reliable over a serial line: it acknowledges
// the board's sequenced frames exactly once each, carries commands to the
// board with retransmission, and notices silence.
type Link struct {
	rw      io.ReadWriter
	clock   gateway.Clock
	handler Handler
	silence time.Duration

	in   chan []byte // bytes read
	cmds chan *pending
	tick chan struct{}

	mu       sync.Mutex
	counters Counters
	wmu      sync.Mutex // one frame written at a time

	// loop state
	boardLast byte // the board's last seq carried out; 0: none (before HELLO)
	helloSeen bool
	boots     uint16
	silent    bool
	lastHeard time.Time
	nextSeq   byte
	out       *pending
	queue     []*pending
}

type pending struct {
	frame Frame
	tries int
	sent  time.Time
	done  chan error
}

// NewLink returns a link on rw; Run starts it.
func NewLink(rw io.ReadWriter, clock gateway.Clock, h Handler) *Link {
	return &Link{rw: rw, clock: clock, handler: h, silence: Silence, in: make(chan []byte, 64), cmds: make(chan *pending),
		tick: make(chan struct{}, 1), nextSeq: 1}
}

// SilentAfter sets how long the board may say nothing before Silent is
// called (default Silence); call it before Run.
func (l *Link) SilentAfter(d time.Duration) { l.silence = d }

// Counters returns what the link has refused so far.
func (l *Link) Counters() Counters {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counters
}

// ErrGaveUp is a command the board never acknowledged.
var ErrGaveUp = errors.New("bridge: the board did not acknowledge the command")

// Unlock drives lock's release output for d (100 ms to 10 s). It returns
// once the board has acknowledged it; a refusal comes to the Handler.
func (l *Link) Unlock(ctx context.Context, lock int, d time.Duration) error {
	ms := d.Milliseconds()
	if lock < 0 || lock > 255 || ms < MinUnlockMS || ms > MaxUnlockMS {
		return gateway.Errorf(gateway.EINVALID, "bridge: unlock lock %d for %v: want a lock 0–255 and 100 ms to 10 s", lock, d)
	}
	return l.send(ctx, UnlockFrame(byte(lock), uint16(ms)))
}

// Relay switches a relay of the board.
func (l *Link) Relay(ctx context.Context, relay int, on bool) error {
	if relay < 0 || relay > 255 {
		return gateway.Errorf(gateway.EINVALID, "bridge: relay %d: want 0–255", relay)
	}
	return l.send(ctx, RelayFrame(byte(relay), on))
}

func (l *Link) send(ctx context.Context, f Frame) error {
	p := &pending{frame: f, done: make(chan error, 1)}
	select {
	case l.cmds <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run reads and writes until ctx ends or the line fails (its error).
func (l *Link) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := l.rw.Read(buf)
			if n > 0 {
				select {
				case l.in <- append([]byte(nil), buf[:n]...):
				case <-ctx.Done():
					return
				}
			}
			if errors.Is(err, io.EOF) && n == 0 && ctx.Err() == nil {
				// tarm/serial's idle read (its read timeout) is (0, io.EOF):
				// nothing yet, not the end of the line
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	stop := l.every(SyncEvery / 5)
	defer stop()
	l.lastHeard = l.clock.Now()
	var split Splitter
	// SYNC at once, and until a HELLO answers it: a board that ran on while
	// the gateway restarted still expects the old gateway's seq
	lastSync := l.clock.Now()
	l.write(SyncFrame())
	for {
		select {
		case <-ctx.Done():
			l.fail(ctx.Err())
			return nil
		case err := <-readErr:
			l.fail(err)
			return fmt.Errorf("bridge: read: %w", err)
		case b := <-l.in:
			split.Feed(b, func(enc []byte, err error) {
				if err == nil {
					var f Frame
					if f, err = Decode(enc); err == nil {
						l.received(f)
						return
					}
				}
				l.count(err)
			})
		case p := <-l.cmds:
			l.queue = append(l.queue, p)
		case <-l.tick:
		}
		now := l.clock.Now()
		if !l.helloSeen && now.Sub(lastSync) >= SyncEvery {
			lastSync = now
			l.write(SyncFrame())
		}
		if !l.silent && now.Sub(l.lastHeard) >= l.silence {
			l.silent = true
			l.handler.Silent(true)
		}
		l.pump(now)
	}
}

// every wakes the loop every d, for the timers.
func (l *Link) every(d time.Duration) func() {
	var mu sync.Mutex
	stopped := false
	var stop func() bool
	var arm func()
	arm = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		stop = l.clock.AfterFunc(d, func() {
			select {
			case l.tick <- struct{}{}:
			default:
			}
			arm()
		})
	}
	arm()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		stop()
	}
}

// pump sends the next command, or the one out again, or gives it up.
func (l *Link) pump(now time.Time) {
	if l.out != nil {
		if now.Sub(l.out.sent) < Retransmit {
			return
		}
		if l.out.tries >= Tries {
			l.out.done <- fmt.Errorf("%w (%v, %d tries)", ErrGaveUp, l.out.frame, Tries)
			l.out = nil
		} else {
			l.out.tries++
			l.out.sent = now
			l.mu.Lock()
			l.counters.Retx++
			l.mu.Unlock()
			l.write(l.out.frame)
			return
		}
	}
	if len(l.queue) == 0 || !l.helloSeen { // before HELLO the board's sequence is not ours yet
		return
	}
	l.out, l.queue = l.queue[0], l.queue[1:]
	l.out.frame.Seq = l.nextSeq
	l.nextSeq = l.nextSeq%255 + 1
	l.out.tries, l.out.sent = 1, now
	l.write(l.out.frame)
}

func (l *Link) fail(err error) {
	for _, p := range append(l.queue, l.out) {
		if p != nil {
			p.done <- fmt.Errorf("bridge: the link stopped: %w", err)
		}
	}
	l.queue, l.out = nil, nil
}

func (l *Link) count(err error) {
	var fe *FrameError
	l.mu.Lock()
	defer l.mu.Unlock()
	if errors.As(err, &fe) && fe.Kind == BadCRC {
		l.counters.BadCRC++
	} else {
		l.counters.BadFrame++
	}
}

func (l *Link) write(f Frame) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if _, err := l.rw.Write(f.Encode()); err != nil {
		// A lost frame: retransmission and silence cover it; it is counted.
		l.mu.Lock()
		l.counters.WriteErrs++
		l.mu.Unlock()
	}
}

// received handles one checked frame from the board.
func (l *Link) received(f Frame) {
	l.lastHeard = l.clock.Now()
	if l.silent {
		l.silent = false
		l.handler.Silent(false)
	}
	switch f.Type {
	case TAck:
		if l.out != nil && f.Payload[0] == l.out.frame.Seq {
			l.out.done <- nil
			l.out = nil
		}
		return
	case THeartbeat:
		l.handler.Heartbeat(f.Message().(Heartbeat))
		return
	}
	if !f.Type.Sequenced() {
		return // SYNC from a board: not ours to take
	}
	if f.Type == THello { // any seq: the board (re)started or answers SYNC
		l.boardLast = f.Seq
		l.write(AckFrame(f.Seq))
		h := f.Message().(Hello)
		reset := l.helloSeen && h.Boots != l.boots
		l.helloSeen, l.boots = true, h.Boots
		l.handler.Hello(h, reset)
		return
	}
	switch {
	case !l.helloSeen:
		return // before HELLO the sequence is unknown; SYNC will bring it
	case f.Seq == l.boardLast:
		l.write(AckFrame(f.Seq)) // the ACK was lost: again, not carried out twice
		l.dup()
		return
	case f.Seq != l.boardLast%255+1:
		l.dup() // replayed or stray
		return
	}
	l.boardLast = f.Seq
	l.write(AckFrame(f.Seq))
	switch m := f.Message().(type) {
	case Zone:
		l.handler.Zone(m)
	case Lock:
		l.handler.Lock(m)
	case BoardError:
		l.handler.BoardError(m)
	}
}

func (l *Link) dup() {
	l.mu.Lock()
	l.counters.Dup++
	l.mu.Unlock()
}
