package bridge

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway/clocktest"
)

// fakeBoard is the board's end of a link: what it writes, the link reads,
// and the frames the link writes come out on frames.
type fakeBoard struct {
	t      *testing.T
	toLink *io.PipeWriter
	frames chan Frame
}

// line joins a link and a fake board.
type line struct {
	io.Reader
	io.Writer
}

func startLink(t *testing.T) (*Link, *fakeBoard, *recorder, *clocktest.Clock) {
	clock := clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	boardR, linkW := io.Pipe()
	linkR, boardW := io.Pipe()
	rec := &recorder{changed: make(chan struct{}, 100)}
	l := NewLink(line{linkR, linkW}, clock, rec)
	b := &fakeBoard{t: t, toLink: boardW, frames: make(chan Frame, 100)}
	go func() {
		var s Splitter
		buf := make([]byte, 64)
		for {
			n, err := boardR.Read(buf)
			if err != nil {
				return
			}
			s.Feed(buf[:n], func(enc []byte, err error) {
				if f, err := Decode(enc); err == nil {
					b.frames <- f
				} else {
					t.Errorf("the link sent a bad frame: %v", err)
				}
			})
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); boardW.Close(); linkW.Close(); <-done })
	return l, b, rec, clock
}

func (b *fakeBoard) send(raw []byte) {
	b.t.Helper()
	if _, err := b.toLink.Write(raw); err != nil {
		b.t.Fatal(err)
	}
}

func (b *fakeBoard) sendFrame(f Frame, seq byte) { f.Seq = seq; b.send(f.Encode()) }

// next is the next frame the link sent.
func (b *fakeBoard) next() Frame {
	b.t.Helper()
	select {
	case f := <-b.frames:
		return f
	case <-time.After(10 * time.Second):
		b.t.Fatal("the link sent nothing")
	}
	return Frame{}
}

func (b *fakeBoard) noFrame() {
	b.t.Helper()
	select {
	case f := <-b.frames:
		b.t.Fatalf("the link sent %v", f)
	case <-time.After(50 * time.Millisecond): // nothing sent: not a timing of the code under test
	}
}

type recorder struct {
	mu      sync.Mutex
	log     []string
	seen    int
	changed chan struct{}
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
	r.changed <- struct{}{}
}
func (r *recorder) Hello(h Hello, reset bool) {
	if reset {
		r.add("reset")
	} else {
		r.add("hello")
	}
}
func (r *recorder) Zone(z Zone)             { r.add("zone " + z.State.String()) }
func (r *recorder) Lock(l Lock)             { r.add("lock " + l.State.String()) }
func (r *recorder) Heartbeat(Heartbeat)     { r.add("heartbeat") }
func (r *recorder) BoardError(e BoardError) { r.add("error") }
func (r *recorder) Silent(s bool) {
	if s {
		r.add("silent")
	} else {
		r.add("back")
	}
}

// expect waits for want among what the handler heard since the last one
// expected.
func (r *recorder) expect(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		for i := r.seen; i < len(r.log); i++ {
			if r.log[i] == want {
				r.seen = i + 1
				r.mu.Unlock()
				return
			}
		}
		log := r.log
		r.mu.Unlock()
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("handler heard %v, not %q", log, want)
		}
	}
}

// settle waits until the link has consumed what was written (the pipe is
// synchronous: a write returns once the link's reader took it) and its loop
// has handled it, by a round trip through a heartbeat.
func (b *fakeBoard) settle(r *recorder, t *testing.T) {
	t.Helper()
	b.sendFrame(Heartbeat{}.Frame(), 0)
	r.expect(t, "heartbeat")
}

func TestLinkSequencingAndBadFrames(t *testing.T) {
	l, b, rec, clock := startLink(t)
	if f := b.next(); f.Type != TSync {
		t.Fatalf("first frame %v, want SYNC", f)
	}
	b.sendFrame(Hello{Proto: 1, Boots: 7}.Frame(), 40)
	rec.expect(t, "hello")
	if f := b.next(); f.Type != TAck || f.Payload[0] != 40 {
		t.Fatalf("%v, want ACK 40", f)
	}
	b.sendFrame(Zone{Zone: 0, State: ZoneAlarm}.Frame(), 41)
	rec.expect(t, "zone alarm")
	if f := b.next(); f.Payload[0] != 41 {
		t.Fatalf("%v, want ACK 41", f)
	}
	// its ACK lost, the board sends it again: acknowledged, not carried out twice
	b.sendFrame(Zone{Zone: 0, State: ZoneAlarm}.Frame(), 41)
	if f := b.next(); f.Type != TAck || f.Payload[0] != 41 {
		t.Fatalf("%v, want ACK 41 again", f)
	}
	// a replayed older frame: dropped, no ACK
	b.sendFrame(Zone{Zone: 0, State: ZoneNormal}.Frame(), 40)
	b.noFrame()
	// a corrupted frame, a truncated one, noise, an overlong run: refused and
	// counted; the next good frame is taken
	z := Zone{Zone: 0, State: ZoneTamperCut}.Frame()
	z.Seq = 42
	bad := z.Encode()
	bad[3] ^= 0x40
	b.send(bad)
	b.send(append(z.Encode()[:5], 0))
	b.send([]byte{0x13, 0x77, 0x00})
	b.send(append(make([]byte, 80), 0)[1:]) // 79 zero bytes: empty runs, line idle
	over := make([]byte, 100)
	for i := range over {
		over[i] = 0x55
	}
	b.send(append(over, 0))
	b.sendFrame(z, 42)
	rec.expect(t, "zone tamper-cut")
	b.next()
	b.settle(rec, t)
	if c := l.Counters(); c.Dup != 2 || c.BadCRC != 1 || c.BadFrame != 3 {
		t.Fatalf("counters %+v, want 2 dup, 1 bad CRC, 3 bad frames", c)
	}
	rec.mu.Lock()
	if n := len(rec.log); n != 4 { // hello, alarm, tamper-cut, heartbeat
		t.Errorf("handler heard %v", rec.log)
	}
	rec.mu.Unlock()

	// silence: 3 s without a frame
	for clock.Pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	clock.Advance(3100 * time.Millisecond)
	rec.expect(t, "silent")
	b.sendFrame(Heartbeat{}.Frame(), 0)
	rec.expect(t, "back")
	rec.expect(t, "heartbeat")

	// a reset: HELLO with another boot count
	b.sendFrame(Hello{Proto: 1, Boots: 8}.Frame(), 1)
	rec.expect(t, "reset")
	b.next()
}

func TestLinkCommandsAreRetransmittedThenGivenUp(t *testing.T) {
	l, b, rec, clock := startLink(t)
	b.next() // SYNC
	b.sendFrame(Hello{Proto: 1}.Frame(), 1)
	rec.expect(t, "hello")
	b.next() // ACK
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- l.Unlock(ctx, 0, 3*time.Second) }()
	f := b.next()
	if f.Type != TUnlock || f.Seq != 1 || f.Payload[0] != 0 || f.Payload[1] != 0x0B || f.Payload[2] != 0xB8 {
		t.Fatalf("%v, want UNLOCK seq 1 lock 0 3000 ms", f)
	}
	clock.Advance(Retransmit)
	if g := b.next(); g.Seq != f.Seq || g.Type != TUnlock {
		t.Fatalf("%v, want the same UNLOCK again", g)
	}
	b.sendFrame(AckFrame(f.Seq), 0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := l.Counters(); c.Retx != 1 {
		t.Fatalf("counters %+v", c)
	}
	// never acknowledged: 5 tries, then given up
	go func() { done <- l.Relay(ctx, 1, true) }()
	if g := b.next(); g.Type != TRelay || g.Seq != 2 {
		t.Fatalf("%v, want RELAY seq 2", g)
	}
	for i := 2; i <= Tries; i++ {
		clock.Advance(Retransmit)
		b.next()
	}
	clock.Advance(Retransmit)
	if err := <-done; !errors.Is(err, ErrGaveUp) {
		t.Fatalf("err %v, want ErrGaveUp", err)
	}
	if err := l.Unlock(ctx, 0, 20*time.Second); err == nil {
		t.Fatal("an unlock of 20 s was sent")
	}
}
