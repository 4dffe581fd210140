package service

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/backup"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

// Room is what the jobs ask of the room: a checkpoint through its queue,
// an alarm raised or restored, a fault nobody waits for (room.Room).
type Room interface {
	Checkpoint() (uint64, error)
	Raise(class gateway.AlarmClass, device, detail string) (string, error)
	Restore(class gateway.AlarmClass, device string) error
	Fault(what string, err error)
}

// Jobs are the work beside the room, each run until its context ends.
type Jobs struct {
	ID    string            // the room's
	Key   ed25519.PublicKey // the room's, which signs its checkpoints
	Room  Room
	Store *sqlite.Store
	Clock gateway.Clock
	Log   *slog.Logger
}

// ChainTail is how many of the last events the start verifies.
const ChainTail = 1000

// CheckChain verifies the tail of the log's hash chain (issue 18): a broken
// link (an event edited, deleted, inserted or reordered while the gateway
// was away) raises a critical log-tampered alarm naming its seq.
func (j *Jobs) CheckChain() error {
	last, err := j.Store.LastSeq()
	if err != nil {
		return err
	}
	from := uint64(1)
	if last > ChainTail {
		from = last - ChainTail + 1
	}
	brk, err := j.Store.VerifyChainWith(&gateway.ChainVerifier{Room: j.ID, Key: j.Key}, from, 0)
	if err != nil || brk == nil {
		return err
	}
	return j.chainBroken(brk)
}

// chainBroken raises the log-tampered alarm for a broken link.
func (j *Jobs) chainBroken(brk *gateway.ChainBreak) error {
	j.Log.Error("the log's chain is broken", "at", brk.Seq, "why", brk.Reason)
	_, err := j.Room.Raise(gateway.AlarmLogTampered, "", fmt.Sprintf("the log's chain is broken at %v: roomguard-gateway log verify", brk))
	return err
}

// VerifyDaily walks the whole chain every day (the start checks only its
// tail); a broken link raises the log-tampered alarm, once for each.
func (j *Jobs) VerifyDaily(ctx context.Context) {
	told := map[uint64]bool{}
	for Wait(ctx, j.Clock, 24*time.Hour) {
		brk, err := j.Store.VerifyChainWith(&gateway.ChainVerifier{Room: j.ID, Key: j.Key}, 1, 0)
		switch {
		case err != nil:
			j.Room.Fault("the daily verification of the log's chain", err)
		case brk != nil && !told[brk.Seq]:
			told[brk.Seq] = true
			if err := j.chainBroken(brk); err != nil {
				j.Log.Error("log-tampered alarm not raised", "err", err)
			}
		}
	}
}

// CheckpointHourly signs the chain's head every gateway.CheckpointPeriod
// when events were logged since the last checkpoint: a quiet room's few
// events do not wait for the thousandth to be signed in its log.
func (j *Jobs) CheckpointHourly(ctx context.Context) {
	signed, _ := j.Store.Head()
	for Wait(ctx, j.Clock, gateway.CheckpointPeriod) {
		if seq, _ := j.Store.Head(); seq == signed {
			continue
		}
		seq, err := j.Room.Checkpoint()
		if err != nil {
			j.Room.Fault("the hourly checkpoint of the log", err)
			continue
		}
		signed = seq
	}
}

// PruneDaily prunes the events past the retention now and every day. It
// runs beside the room, never on the start's path: the store prunes in
// batches between the room's commits.
func (j *Jobs) PruneDaily(ctx context.Context, days int) {
	for {
		n, err := j.Store.Prune(ctx, time.Duration(days)*24*time.Hour, j.Clock.Now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			j.Log.Error("prune failed", "err", err)
		case n > 0:
			j.Log.Info("pruned events past the retention", "events", n, "days", days)
			// the rest stays verifiable from a signed head
			if _, err := j.Room.Checkpoint(); err != nil {
				j.Log.Error("checkpoint after the prune not logged", "err", err)
			}
		}
		if !Wait(ctx, j.Clock, 24*time.Hour) {
			return
		}
	}
}

// BackupDaily backs the log at path up every day into b's directory,
// keeping b's number of backups; a failure is a gateway fault.
func (j *Jobs) BackupDaily(ctx context.Context, path string, b *config.Backup) {
	for Wait(ctx, j.Clock, 24*time.Hour) {
		out, m, err := backup.Make(ctx, path, b.Dir, j.Clock.Now())
		if err == nil {
			j.Log.Info("log backed up", "to", out, "through", m.LastSeq)
			err = backup.Prune(b.Dir, m.Room, b.Kept())
		}
		if err != nil {
			j.Room.Fault("the daily backup of the log", err)
		}
	}
}

// WatchStorage checks the log's filesystem now and every minute: nearly
// full, it raises the storage-low alarm (long before a write fails and an
// input has to wait in memory); with room again, it restores it, which the
// log records (issue 27, finding 2).
func (j *Jobs) WatchStorage(ctx context.Context, s config.Storage, space func() (total, free uint64, err error)) {
	low := false
	for {
		low = j.CheckStorage(s, space, low)
		if !Wait(ctx, j.Clock, time.Minute) {
			return
		}
	}
}

// CheckStorage checks the log's filesystem once; low says whether the
// storage-low alarm is up, and it returns whether it is now.
func (j *Jobs) CheckStorage(s config.Storage, space func() (total, free uint64, err error), low bool) bool {
	total, free, err := space()
	if err != nil {
		j.Log.Warn("the log's filesystem not checked", "err", err)
		return low
	}
	why := s.Low(total, free)
	switch {
	case why != "" && !low:
		if _, err := j.Room.Raise(gateway.AlarmStorageLow, "storage", why); err != nil {
			j.Log.Error("storage-low alarm not raised", "why", why, "err", err)
			return false
		}
		return true
	case why == "" && low:
		if err := j.Room.Restore(gateway.AlarmStorageLow, "storage"); err != nil {
			j.Log.Error("storage-low alarm not restored", "err", err)
			return true
		}
		return false
	}
	return low
}

// Wait waits d on clock; false when ctx ended first.
func Wait(ctx context.Context, clock gateway.Clock, d time.Duration) bool {
	next := make(chan struct{})
	stop := clock.AfterFunc(d, func() { close(next) })
	select {
	case <-ctx.Done():
		stop()
		return false
	case <-next:
		return true
	}
}
