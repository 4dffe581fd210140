package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// Logger is a command's log on w (issue 32): text or JSON lines, from
// level up. Under systemd (its journal on standard error: JOURNAL_STREAM
// set), each line starts with its syslog priority (<3> error, <4> warning,
// <6> info, <7> debug), so `journalctl -p warning` finds the warnings.
func Logger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	pw := &priorityWriter{w: w, on: os.Getenv("JOURNAL_STREAM") != ""}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch format {
	case "", "text":
		h = slog.NewTextHandler(pw, opts)
	case "json":
		h = slog.NewJSONHandler(pw, opts)
	default:
		return nil, fmt.Errorf("--log-format: %q is not text or json", format)
	}
	return slog.New(&priorityHandler{inner: h, w: pw}), nil
}

// priorityWriter prefixes each line with the priority of the record being
// written (set by priorityHandler, under its lock).
type priorityWriter struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	level slog.Level
}

func (p *priorityWriter) Write(b []byte) (int, error) {
	if !p.on {
		return p.w.Write(b)
	}
	prio := 6
	switch {
	case p.level >= slog.LevelError:
		prio = 3
	case p.level >= slog.LevelWarn:
		prio = 4
	case p.level < slog.LevelInfo:
		prio = 7
	}
	if _, err := fmt.Fprintf(p.w, "<%d>", prio); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

// priorityHandler tells the writer each record's level while the inner
// handler writes it.
type priorityHandler struct {
	inner slog.Handler
	w     *priorityWriter
}

func (h *priorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.level = r.Level
	return h.inner.Handle(ctx, r)
}

func (h *priorityHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &priorityHandler{inner: h.inner.WithAttrs(as), w: h.w}
}

func (h *priorityHandler) WithGroup(name string) slog.Handler {
	return &priorityHandler{inner: h.inner.WithGroup(name), w: h.w}
}
