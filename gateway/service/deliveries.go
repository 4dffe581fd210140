package service

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"sync"

	"github.com/roomguard/roomguard/gateway"
)

// Deliveries carries the call-down's records (notify.sent, notify.failed)
// to the room's log. The notifier is built before the room, since the
// room's alarms reach it through the room's sink; its records wait here
// until Run hands them to the room, in the order they came.
type Deliveries struct {
	ch chan gateway.Event

	mu     sync.Mutex
	counts map[Outcome]uint64 // deliveries by channel and result, for the metrics
}

// Outcome is a delivery's channel (sms, call, email, webhook) and result
// (sent, failed).
type Outcome struct{ Channel, Result string }

// deliveriesHeld is how many records wait for the room at most; past it a
// delivery waits to record (the room is stuck: the watchdog restarts it).
const deliveriesHeld = 1024

// NewDeliveries returns an empty queue of records.
func NewDeliveries() *Deliveries {
	return &Deliveries{ch: make(chan gateway.Event, deliveriesHeld), counts: map[Outcome]uint64{}}
}

// Log queues a record for the room's log (notify.Log) and counts it.
func (d *Deliveries) Log(ev gateway.Event) error {
	var data struct {
		Channel string `json:"channel"`
	}
	if result, ok := strings.CutPrefix(ev.Type, "notify."); ok && json.Unmarshal(ev.Data, &data) == nil {
		d.mu.Lock()
		d.counts[Outcome{data.Channel, result}]++
		d.mu.Unlock()
	}
	d.ch <- ev
	return nil
}

// Counts are the deliveries so far by channel and result.
func (d *Deliveries) Counts() map[Outcome]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.counts)
}

// Recorder is where the records go: the room's one commit path, and its
// gateway fault for one it would not take.
type Recorder interface {
	Log(ev gateway.Event) error
	Fault(what string, err error)
}

// Run logs the records through room until ctx ends, then the ones still
// waiting.
func (d *Deliveries) Run(ctx context.Context, room Recorder) {
	record := func(ev gateway.Event) {
		if err := room.Log(ev); err != nil {
			room.Fault("the record of "+ev.Type+" for a call-down", err)
		}
	}
	for {
		select {
		case ev := <-d.ch:
			record(ev)
		case <-ctx.Done():
			for {
				select {
				case ev := <-d.ch:
					record(ev)
				default:
					return
				}
			}
		}
	}
}
