package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway/csv"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

// entriesCmd is `entries query`: the entry log (every decision, every
// confirmed entry and exit) by person, card, result and time range, as a
// table or CSV.
func entriesCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("entries query", stderr)
	cfgPath := fs.String("config", defaultConfig, "room config file (for its storage path and key file)")
	db := fs.String("db", "", "event log file (instead of the config's storage path)")
	person := fs.String("person", "", "person id, or visit id")
	card := fs.String("card", "", "card number (matched through the room's keyed hash; decisions only)")
	result := fs.String("result", "", "granted, denied, entered, exited or not_opened")
	since := fs.String("since", "", "from (2026-11-22, 2026-11-22T08:00, RFC 3339, or a duration back such as 24h)")
	until := fs.String("until", "", "until (same forms)")
	asCSV := fs.Bool("csv", false, "write CSV (UTF-8 with a byte-order mark) instead of a table")
	limit := fs.Int("limit", 0, "at most this many records (0: all)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	now := time.Now()
	from, err := parseTime(*since, now)
	if err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	to, err := parseTime(*until, now)
	if err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	path, keyPath := *db, ""
	if path == "" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		path, keyPath = c.Storage.Path, keyFile(c)
	} else {
		keyPath = keyFile(&config.Config{Storage: config.Storage{Path: path}})
	}
	f := sqlite.EntryFilter{Since: from, Until: to, Person: *person, Result: *result, Limit: *limit}
	if *card != "" {
		key, err := os.ReadFile(keyPath)
		if err != nil {
			return fmt.Errorf("--card needs the room's key file %s: %w", filepath.Clean(keyPath), err)
		}
		f.CardRef = gateway.Keyed(key).Ref(gateway.NormalizeCard(*card))
	}
	r, err := sqlite.OpenReader(path)
	if err != nil {
		return err
	}
	defer r.Close()
	cols := []string{"time", "result", "reason", "person_id", "person_name", "visitor", "card", "reader", "door", "direction", "via", "seq"}
	var cw *csv.Writer
	if *asCSV {
		if _, err := stdout.Write([]byte{0xEF, 0xBB, 0xBF}); err != nil { // a BOM: spreadsheets read the Chinese names as UTF-8
			return err
		}
		cw = csv.NewWriter(stdout)
		if err := cw.Write(cols); err != nil {
			return err
		}
	}
	n := 0
	err = r.Entries(f, func(e gateway.Event) error {
		n++
		var d map[string]any
		if len(e.Data) > 0 {
			if err := json.Unmarshal(e.Data, &d); err != nil {
				return fmt.Errorf("event %d: data: %w", e.Seq, err)
			}
		}
		str := func(k string) string {
			if v, ok := d[k]; ok && v != nil {
				return fmt.Sprint(v)
			}
			return ""
		}
		res := strings.TrimPrefix(e.Type, "access.")
		row := []string{e.TS.Format(gateway.TimeFormat), res, str("reason"), str("person_id"), str("person_name"), str("visitor"),
			str("card"), str("reader"), str("door"), str("direction"), str("via"), fmt.Sprint(e.Seq)}
		if cw != nil {
			return cw.Write(row)
		}
		_, err := fmt.Fprintf(stdout, "%s  %-10s %-22s %-10s %-8s %-12s %s/%s %s\n", row[0], row[1], row[2], row[3], row[4], row[6], row[8], row[7], row[9])
		return err
	})
	if cw != nil {
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
	} else if err == nil {
		fmt.Fprintf(stderr, "%d record(s)\n", n)
	}
	return err
}
