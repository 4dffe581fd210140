package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/csv"
	"github.com/roomguard/roomguard/gateway/wire"
)

// personnelCmd is `personnel check FILE`, `personnel import FILE` and
// `personnel export`. Importing goes through the running gateway
// (cmd/personnel/replace over MQTT), which is the log's only writer.
func personnelCmd(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	if sub == "import" {
		return personnelImport(ctx, args, stdout, stderr)
	}
	fs := newFlags("personnel "+sub, stderr)
	cfgPath := fs.String("config", defaultConfig, "room config file (for its storage path)")
	db := fs.String("db", "", "event log file (instead of the config's storage path)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	switch sub {
	case "check":
		if fs.NArg() != 1 {
			return usagef("personnel check: want one CSV file")
		}
		_, people, err := readPeopleFile(fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d people, %d cards, no errors\n", fs.Arg(0), len(people), countCards(people))
		return nil
	case "export":
		r, err := openLog(*db, *cfgPath)
		if err != nil {
			return err
		}
		defer r.Close()
		return csv.WritePeople(stdout, func(fn func(*gateway.Person) error) error { return r.People(fn) })
	}
	return usagef("personnel: unknown subcommand %q (want check, import or export)", sub)
}

// personnelImport checks the file here (every bad line is reported before
// anything is sent), then sends it whole to the room as the next version of
// its register and waits for the room to have replaced its copy.
func personnelImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return registerImport(ctx, "personnel", args, stdout, stderr, 10*time.Minute, func(path string) (string, string, error) {
		text, people, err := readPeopleFile(path)
		return text, fmt.Sprintf("%d people, %d cards", len(people), countCards(people)), err
	}, wire.Topics.Personnel, "personnel/replace", func(fs *flag.FlagSet) func() map[string]any {
		empty := fs.Bool("allow-empty", false, "install a register that holds nobody (every command and badge is then refused)")
		noOfficer := fs.Bool("allow-no-officer", false, "install a register with no security officer for the room (only this command line can replace it then)")
		return func() map[string]any {
			m := map[string]any{}
			if *empty {
				m["allow_empty"] = true
			}
			if *noOfficer {
				m["allow_no_officer"] = true
			}
			return m
		}
	})
}

// registerImport is `personnel import` and `carrier import`: read checks
// the file and says what it holds; the text goes whole to the room as the
// version above the one it publishes on topic, by cmd.
func registerImport(ctx context.Context, what string, args []string, stdout, stderr io.Writer, timeout time.Duration,
	read func(path string) (text, summary string, err error), topic func(wire.Topics) string, cmd string,
	more func(fs *flag.FlagSet) func() map[string]any) error {
	fs := newFlags(what+" import", stderr)
	r := remoteFlags(fs, timeout)
	version := fs.Int64("version", 0, "the register's new version (default: one above the version the room holds)")
	fields := func() map[string]any { return map[string]any{} }
	if more != nil {
		fields = more(fs)
	}
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%s import: want one CSV file", what)
	}
	text, summary, err := read(fs.Arg(0))
	if err != nil {
		return err
	}
	l, err := r.open(ctx)
	if err != nil {
		return err
	}
	defer l.close()
	if *version == 0 {
		if *version, err = l.nextVersion(topic(wire.Topics{Room: l.room})); err != nil {
			return err
		}
	}
	f := fields()
	f["version"], f["csv"] = *version, text
	res, err := l.call(cmd, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "room %s holds %s register version %v: %s (sha256 %v)\n", l.room, what, res["version"], summary, res["sha256"])
	return nil
}

// nextVersion is one above the register version the room holds, as
// published retained on topic.
func (l *link) nextVersion(topic string) (int64, error) {
	held, err := l.caller.Retained(l.ctx, topic, 3*time.Second)
	if err != nil {
		return 0, err
	}
	var ri struct {
		Version int64 `json:"version"`
	}
	if held != nil {
		if err := json.Unmarshal(held, &ri); err != nil {
			return 0, fmt.Errorf("the room's register version is unreadable (%v): give --version", err)
		}
	}
	return ri.Version + 1, nil
}

// readPeopleFile reads and checks a personnel CSV file.
func readPeopleFile(path string) (string, []gateway.Person, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	people, err := csv.ReadPeople(bytes.NewReader(b), path, gateway.MaxRecords)
	if err != nil {
		return "", nil, err
	}
	return string(b), people, nil
}

func countCards(people []gateway.Person) int {
	n := 0
	for _, p := range people {
		n += len(p.Cards)
	}
	return n
}
