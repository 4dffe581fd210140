package main

import (
	"fmt"
	"io"
	"os"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/csv"
)

// personnelCmd is `personnel check FILE` and `personnel export`. Importing
// goes through the running gateway (cmd/personnel/replace over MQTT), which
// is the log's only writer.
func personnelCmd(sub string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("personnel "+sub, stderr)
	cfgPath := fs.String("config", defaultConfig, "room config file (for its storage path)")
	db := fs.String("db", "", "event log file (instead of the config's storage path)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch sub {
	case "check":
		if fs.NArg() != 1 {
			return fmt.Errorf("personnel check: want one CSV file")
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		people, err := csv.ReadPeople(f, fs.Arg(0))
		if err != nil {
			return err
		}
		cards := 0
		for _, p := range people {
			cards += len(p.Cards)
		}
		fmt.Fprintf(stdout, "%s: %d people, %d cards, no errors\n", fs.Arg(0), len(people), cards)
		return nil
	case "export":
		r, err := openLog(*db, *cfgPath)
		if err != nil {
			return err
		}
		defer r.Close()
		return csv.WritePeople(stdout, func(fn func(*gateway.Person) error) error { return r.People(fn) })
	}
	return fmt.Errorf("personnel: unknown subcommand %q (want check or export)", sub)
}
