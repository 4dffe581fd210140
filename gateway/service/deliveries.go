package service

import (
	"context"

	"github.com/roomguard/roomguard/gateway"
)

// Deliveries carries the call-down's records (notify.sent, notify.failed)
// to the room's log. The notifier is built before the room, since the
// room's alarms reach it through the room's sink; its records wait here
// until Run hands them to the room, in the order they came.
type Deliveries struct{ ch chan gateway.Event }

// deliveriesHeld is how many records wait for the room at most; past it a
// delivery waits to record (the room is stuck: the watchdog restarts it).
const deliveriesHeld = 1024

// NewDeliveries returns an empty queue of records.
func NewDeliveries() *Deliveries { return &Deliveries{ch: make(chan gateway.Event, deliveriesHeld)} }

// Log queues a record for the room's log (notify.Log).
func (d *Deliveries) Log(ev gateway.Event) error {
	d.ch <- ev
	return nil
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
