package mqtt_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// BenchmarkDurableThroughput: events logged by concurrent producers (each
// call returns once its event is committed with synchronous=FULL) and
// published to Mosquitto, until a subscriber has every one; next to it, in
// the same run, the raw rate of batched inserts into the same table with the
// same pragmas and no gateway around them.
func BenchmarkDurableThroughput(b *testing.B) {
	const round = 20000
	// Producers each wait for their own commit, as an input driver does; a
	// group commit holds at most one event per producer, so the rate grows
	// with them until the fsync is shared widely enough.
	for _, producers := range []int{64, 1024} {
		b.Run(fmt.Sprintf("gateway-%d-producers", producers), func(b *testing.B) { throughput(b, producers, round) })
	}
	// The same path with nothing around it: a group-commit writer over the
	// bare table, each producer waiting for its own commit, every event then
	// published at QoS 1 by one publisher, until the subscriber has all.
	b.Run("bare-64-producers", func(b *testing.B) { bareThroughput(b, 64, round, true) })
	b.Run("bare-64-producers-unpublished", func(b *testing.B) { bareThroughput(b, 64, round, false) })
	// The disk's commit bound for N producers (issue 29): N ÷ the latency
	// of an N-row commit of the same table and indexes, C SQLite alone.
	b.Run("commit-bound-64", func(b *testing.B) {
		db := rawEvents(b)
		defer db.Close()
		const rows = 64
		var spent time.Duration
		commits := 0
		for b.Loop() {
			for k := 0; k < 100; k++ {
				start := time.Now()
				commitRows(b, db, rows)
				spent += time.Since(start)
				commits++
			}
		}
		b.ReportMetric(float64(rows)/(spent.Seconds()/float64(commits)), "bound-events/s")
	})
	b.Run("raw-sqlite", func(b *testing.B) {
		db := rawEvents(b)
		defer db.Close()
		total := 0
		start := time.Now()
		for b.Loop() {
			for batch := 0; batch < round/1000; batch++ {
				commitRows(b, db, 1000)
			}
			total += round
		}
		b.ReportMetric(float64(total)/time.Since(start).Seconds(), "rows/s")
	})
}

// BenchmarkBacklog: 100,000 events logged while the broker is down; the
// time from the broker's return until a subscriber has all of them, which
// must arrive in seq order.
func BenchmarkBacklog(b *testing.B) {
	const backlog = 100000
	for b.Loop() {
		m := testenv.StartMosquitto(b)
		sub := subscribeEvents(b, m.URL(), "backlog-sub")
		r := newRig(b, m.URL())
		m.Stop()
		r.start()
		r.appendN(backlog, 1000)
		start := time.Now()
		m.Start()
		if !sub.waitSeqs(backlog, 120*time.Second) {
			b.Fatalf("subscriber has %d of %d", len(sub.seen), backlog)
		}
		took := time.Since(start)
		sub.check(b, backlog, true)
		b.ReportMetric(took.Seconds(), "s-to-deliver")
		b.ReportMetric(backlog/took.Seconds(), "events/s")
		r.stop()
		r.cancel = nil
	}
}

func throughput(b *testing.B, producers, round int) {
	m := testenv.StartMosquitto(b)
	sub := subscribeEvents(b, m.URL(), "tp-sub")
	r := newRig(b, m.URL())
	r.start()
	total := 0
	start := time.Now()
	for b.Loop() {
		if err := testenv.Producers(producers, round, func(p int) error {
			_, err := r.store.Append(gateway.Event{Type: "window.opened", Severity: gateway.SeverityInfo, Device: fmt.Sprintf("window-%d", p%64)})
			return err
		}); err != nil {
			b.Fatal(err)
		}
		total += round
		if !sub.waitSeqs(total, 60*time.Second) {
			b.Fatalf("subscriber has %d of %d", len(sub.seen), total)
		}
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
}

// bareThroughput is throughput's least: producers each wait for their own
// row's commit in a group commit of the bare table, then a publisher sends
// every committed event to the broker (unless not publish: then the rate is
// the group commit's alone).
func bareThroughput(b *testing.B, producers, round int, publish bool) {
	m := testenv.StartMosquitto(b)
	sub := subscribeEvents(b, m.URL(), "bare-sub")
	db := rawEvents(b)
	defer db.Close()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(m.URL()).SetClientID("bare-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer pub.Disconnect(50)
	var committed chan int
	if publish {
		committed = make(chan int, 4*producers)
	}
	w := testenv.NewBareWriter(db, committed)
	published := make(chan error, 1)
	if !publish {
		close(published)
	}
	go func() { // the publisher
		if !publish {
			return
		}
		var seq uint64
		var last paho.Token
		for n := range committed {
			for range n {
				seq++
				last = pub.Publish("roomguard/"+room+"/events", 1, false, fmt.Sprintf(`{"seq":%d,"id":"%d"}`, seq, seq))
			}
		}
		if last != nil {
			last.Wait()
			published <- last.Error()
		}
		close(published)
	}()
	total := 0
	start := time.Now()
	dones := make([]chan error, producers) // each producer's, reused
	for p := range dones {
		dones[p] = make(chan error, 1)
	}
	for b.Loop() {
		if err := testenv.Producers(producers, round, func(p int) error { return w.Append(dones[p]) }); err != nil {
			b.Fatal(err)
		}
		total += round
		if publish && !sub.waitSeqs(total, 60*time.Second) {
			b.Fatalf("subscriber has %d of %d", len(sub.seen), total)
		}
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
	w.Close()
	if err := <-published; err != nil {
		b.Fatal(err)
	}
}

// rawEvents is the log's events table with its indexes in a bare SQLite file.
func rawEvents(b *testing.B) *sql.DB {
	db, err := testenv.BareEventLog(filepath.Join(b.TempDir(), "raw.db"))
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// commitRows inserts rows events into the bare table in one transaction.
func commitRows(b *testing.B, db *sql.DB, rows int) {
	if err := testenv.CommitBareRows(db, rows); err != nil {
		b.Fatal(err)
	}
}
