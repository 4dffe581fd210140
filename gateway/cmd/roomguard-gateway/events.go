package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

// openLog opens read-only the log named by --db, or else by --config's storage path.
func openLog(dbFlag, configFlag string) (*sqlite.Reader, error) {
	path := dbFlag
	if path == "" {
		c, err := config.Load(configFlag)
		if err != nil {
			return nil, err
		}
		path = c.Storage.Path
	}
	return sqlite.OpenReader(path)
}

func printEvent(w io.Writer, e gateway.Event, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(e)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	clock := ""
	if !e.ClockTrusted {
		clock = " (clock not synchronised)"
	}
	line := fmt.Sprintf("%8d  %s  %-8s  %-16s  %s", e.Seq, e.TS.Format(gateway.TimeFormat), e.Severity, e.Type, e.Device)
	if e.Person != "" {
		line += "  person=" + e.Person
	}
	if len(e.Data) > 0 {
		line += "  " + string(e.Data)
	}
	fmt.Fprintln(w, strings.TrimRight(line, " ")+clock)
}

// follow prints every event after seq as it is logged, until ctx ends.
func follow(ctx context.Context, r *sqlite.Reader, after uint64, w io.Writer, asJSON bool) error {
	for {
		err := r.Scan(gateway.EventFilter{AfterSeq: after, Limit: 1000}, func(e gateway.Event) error {
			printEvent(w, e, asJSON)
			after = e.Seq
			return nil
		})
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func tailCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("events tail", stderr)
	cfg := fs.String("config", defaultConfig, "room config file (for its storage path)")
	db := fs.String("db", "", "event log file (instead of the config's storage path)")
	from := fs.Int64("from", -10, "first seq to print; negative: that many before the newest")
	asJSON := fs.Bool("json", false, "print events as JSON, one per line")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	r, err := openLog(*db, *cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	var after uint64
	if *from < 0 {
		last, err := r.LastSeq()
		if err != nil {
			return err
		}
		if n := uint64(-*from); last > n {
			after = last - n
		}
	} else if *from > 0 {
		after = uint64(*from) - 1
	}
	return follow(ctx, r, after, stdout, *asJSON)
}

// parseTime reads RFC 3339, a date, or a duration back from now ("2h").
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (2026-11-22, 2026-11-22T08:00, RFC 3339, or a duration back from now such as 2h)", s)
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

func queryCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("events query", stderr)
	cfg := fs.String("config", defaultConfig, "room config file (for its storage path)")
	db := fs.String("db", "", "event log file (instead of the config's storage path)")
	since := fs.String("since", "", "from this time (RFC 3339, 2026-11-22, or a duration back such as 24h)")
	until := fs.String("until", "", "before this time")
	var types, devices listFlag
	fs.Var(&types, "type", "event type, or a prefix ending in '.' (door.); repeatable or comma-separated")
	fs.Var(&devices, "device", "device id; repeatable or comma-separated")
	limit := fs.Int("limit", 0, "at most this many events")
	asJSON := fs.Bool("json", false, "print events as JSON, one per line")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	now := time.Now()
	f := gateway.EventFilter{Types: types, Devices: devices, Limit: *limit}
	var err error
	if f.Since, err = parseTime(*since, now); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if f.Until, err = parseTime(*until, now); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	r, err := openLog(*db, *cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Scan(f, func(e gateway.Event) error {
		printEvent(stdout, e, *asJSON)
		return nil
	})
}
