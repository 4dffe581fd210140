package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/csv"
	"github.com/roomguard/roomguard/gateway/wire"
)

// carrierCmd is `carrier check|import|export|list|signout|return|extend`.
// What changes the room goes through the running gateway; what reads goes
// to the log.
func carrierCmd(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	switch sub {
	case "check", "export", "list":
		fs := newFlags("carrier "+sub, stderr)
		cfgPath := fs.String("config", defaultConfig, "room config file (for its storage path)")
		db := fs.String("db", "", "event log file (instead of the config's storage path)")
		if err := fs.Parse(args); err != nil {
			return badUsage(err)
		}
		if sub == "check" {
			if fs.NArg() != 1 {
				return usagef("carrier check: want one CSV file")
			}
			_, carriers, err := readCarriersFile(fs.Arg(0))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: %d carriers (%s), no errors\n", fs.Arg(0), len(carriers), countClasses(carriers))
			return nil
		}
		rd, err := openLog(*db, *cfgPath)
		if err != nil {
			return err
		}
		defer rd.Close()
		carriers, states, loans, err := rd.LoadCarriers()
		if err != nil {
			return err
		}
		if sub == "export" {
			return csv.WriteCarriers(stdout, carriers)
		}
		return printCarriers(stdout, carriers, states, loans)
	case "import":
		return registerImport(ctx, "carrier", args, stdout, stderr, 5*time.Minute, func(path string) (string, string, error) {
			text, carriers, err := readCarriersFile(path)
			return text, fmt.Sprintf("%d carriers (%s)", len(carriers), countClasses(carriers)), err
		}, wire.Topics.Carriers, "carriers/replace", nil)
	case "signout":
		fs := newFlags("carrier signout", stderr)
		r := remoteFlags(fs, 30*time.Second)
		carrier := fs.String("carrier", "", "the carrier's register number")
		borrower := fs.String("borrower", "", "person id of who takes it")
		second := fs.String("second", "", "person id of the second person (top secret needs two)")
		purpose := fs.String("purpose", "", "what it is taken for")
		due := fs.String("due", "", "when it is due back (default the end of the working day; 2026-11-23T17:00, RFC 3339, or a duration from now such as 4h)")
		mayLeave := fs.Bool("may-leave", false, "it may leave the room (default: in-room use only); needs --approver")
		approver := fs.String("approver", "", "person id of the security officer or leader who approves")
		if err := fs.Parse(args); err != nil {
			return badUsage(err)
		}
		if err := required(fs, "carrier", "borrower", "purpose"); err != nil {
			return err
		}
		cmd := map[string]any{"carrier": *carrier, "borrower": *borrower, "purpose": *purpose, "may_leave": *mayLeave}
		if *second != "" {
			cmd["second"] = *second
		}
		if *approver != "" {
			cmd["approver"] = *approver
		}
		if *due != "" {
			t, err := dueTime(*due, time.Now())
			if err != nil {
				return err
			}
			cmd["due"] = t.Format(time.RFC3339)
		}
		res, err := r.call(ctx, "carrier/signout", cmd)
		if err != nil {
			return err
		}
		if res["done"] == false {
			fmt.Fprintf(stdout, "%v: asked for %v; top secret: %v confirms with their own signature (the console's approve button) within %s\n",
				res["carrier"], res["borrower"], res["waiting_for"], gateway.SecondWindow)
			return nil
		}
		where := "in-room use only"
		if res["may_leave"] == true {
			where = "may leave the room"
		}
		fmt.Fprintf(stdout, "%v signed out to %v (%v), %s, due %v\n", res["carrier"], res["borrower"], res["sign_out"], where, res["due"])
		return nil
	case "return":
		fs := newFlags("carrier return", stderr)
		r := remoteFlags(fs, 30*time.Second)
		carrier := fs.String("carrier", "", "the carrier's register number")
		if err := fs.Parse(args); err != nil {
			return badUsage(err)
		}
		if err := required(fs, "carrier"); err != nil {
			return err
		}
		res, err := r.call(ctx, "carrier/return", map[string]any{"carrier": *carrier})
		if err != nil {
			return err
		}
		late := ""
		if res["late"] == true {
			late = " (late: it was due " + fmt.Sprint(res["due"]) + ")"
		}
		fmt.Fprintf(stdout, "%v returned by %v at %v%s\n", res["carrier"], res["borrower"], res["returned_at"], late)
		return nil
	case "extend":
		fs := newFlags("carrier extend", stderr)
		r := remoteFlags(fs, 30*time.Second)
		carrier := fs.String("carrier", "", "the carrier's register number")
		due := fs.String("due", "", "the new due time (2026-11-24T17:00, RFC 3339, or a duration from now such as 24h)")
		approver := fs.String("approver", "", "person id of the security officer or leader who approves")
		if err := fs.Parse(args); err != nil {
			return badUsage(err)
		}
		if err := required(fs, "carrier", "due", "approver"); err != nil {
			return err
		}
		t, err := dueTime(*due, time.Now())
		if err != nil {
			return err
		}
		res, err := r.call(ctx, "carrier/extend", map[string]any{"carrier": *carrier, "due": t.Format(time.RFC3339), "approver": *approver})
		if err != nil {
			return err
		}
		if res["done"] == false {
			fmt.Fprintf(stdout, "%v: extension asked; %v approves it with their own signature (the console's approve button) within %s\n",
				res["carrier"], res["waiting_for"], gateway.SecondWindow)
			return nil
		}
		fmt.Fprintf(stdout, "%v (%v) now due %v\n", res["carrier"], res["sign_out"], res["due"])
		return nil
	}
	return usagef("carrier: unknown subcommand %q (want check, import, export, list, signout, return or extend)", sub)
}

// inventoryCmd is `inventory run` (through the gateway), `inventory list`
// and `inventory show` (from the log).
func inventoryCmd(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	switch sub {
	case "run":
		fs := newFlags("inventory run", stderr)
		r := remoteFlags(fs, 30*time.Second)
		asJSON := fs.Bool("json", false, "print the whole report as JSON")
		if err := fs.Parse(args); err != nil {
			return badUsage(err)
		}
		res, err := r.call(ctx, "inventory/run", map[string]any{})
		if err != nil {
			return err
		}
		b, _ := json.Marshal(res)
		var rep gateway.InventoryReport
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("inventory run: the reply is not a report: %v", err)
		}
		return printInventory(stdout, &rep, *asJSON)
	case "list", "show":
		fs := newFlags("inventory "+sub, stderr)
		cfgPath := fs.String("config", defaultConfig, "room config file (for its storage path)")
		db := fs.String("db", "", "event log file (instead of the config's storage path)")
		since := fs.String("since", "", "list: taken from (2026-11-22, RFC 3339, or a duration back such as 720h)")
		asJSON := fs.Bool("json", false, "show: the whole report as JSON")
		if err := fs.Parse(args); err != nil {
			return badUsage(err)
		}
		rd, err := openLog(*db, *cfgPath)
		if err != nil {
			return err
		}
		defer rd.Close()
		if sub == "show" {
			var rep *gateway.InventoryReport
			switch fs.NArg() {
			case 0:
				rs, err := rd.Inventories(time.Time{}, 1)
				if err != nil {
					return err
				}
				if len(rs) == 0 {
					return fmt.Errorf("inventory show: no inventory has been taken yet")
				}
				rep = &rs[0]
			case 1:
				if rep, err = rd.Inventory(fs.Arg(0)); err != nil {
					return err
				}
				if rep == nil {
					return fmt.Errorf("inventory show: no report %q (see inventory list)", fs.Arg(0))
				}
			default:
				return usagef("inventory show: want at most one report id")
			}
			return printInventory(stdout, rep, *asJSON)
		}
		from, err := parseTime(*since, time.Now())
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		rs, err := rd.Inventories(from, 0)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "REPORT\tAT\tTRIGGER\tBY\tALL HOME\tMISSING\tMISPLACED\tUNEXPECTED")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%d\t%d\t%d\n", r.ID, r.At.Format("2006-01-02 15:04:05"), r.Trigger, r.By, r.AllHome,
				len(r.Missing), len(r.Misplaced), len(r.Unexpected))
		}
		return tw.Flush()
	}
	return usagef("inventory: unknown subcommand %q (want run, list or show)", sub)
}

func printInventory(w io.Writer, r *gateway.InventoryReport, asJSON bool) error {
	if asJSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	verdict := "all carriers home"
	if !r.AllHome {
		verdict = "NOT all carriers home"
	}
	fmt.Fprintf(w, "inventory %s (%s, by %s) at %s: %s; %d on loan\n", r.ID, r.Trigger, r.By, r.At.Format("2006-01-02 15:04:05"), verdict, r.OnLoan)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SAFE\tEXPECTED\tFOUND")
	for _, s := range r.Safes {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", s.Safe, s.Expected, s.Found)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, part := range []struct {
		name  string
		items []gateway.InventItem
	}{{"missing", r.Missing}, {"misplaced", r.Misplaced}, {"unexpected", r.Unexpected}} {
		for _, it := range part.items {
			what := it.Carrier
			if what == "" {
				what = "tag " + it.EPC
			}
			line := fmt.Sprintf("  %s: %s", part.name, what)
			if it.Title != "" {
				line += fmt.Sprintf(" 《%s》 %s", it.Title, it.Class.Chinese())
			}
			if it.Home != "" {
				line += ", home " + it.Home
			}
			if it.Location != "" {
				line += ", seen in " + it.Location
			}
			if !it.SeenAt.IsZero() {
				line += " at " + it.SeenAt.Format("2006-01-02 15:04:05")
			}
			if it.Note != "" {
				line += " (" + it.Note + ")"
			}
			fmt.Fprintln(w, line)
		}
	}
	return nil
}

func printCarriers(w io.Writer, carriers []gateway.Carrier, states []gateway.CarrierState, loans []gateway.SignOut) error {
	st := map[string]gateway.CarrierState{}
	for _, s := range states {
		st[s.ID] = s
	}
	loan := map[string]gateway.SignOut{}
	for _, l := range loans {
		loan[l.Carrier] = l
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tCLASS\tKIND\tHOME\tSTATUS\tLAST SEEN\tSIGNED OUT TO\tDUE")
	for _, c := range carriers {
		s := st[c.ID]
		status := string(s.Status)
		if status == "" {
			status = string(gateway.CarrierHome)
		}
		if s.Misplaced {
			status += " (misplaced)"
		}
		seen := "-"
		if s.Location != "" {
			seen = s.Location
			if !s.SeenAt.IsZero() {
				seen += " " + s.SeenAt.Format("01-02 15:04")
			}
		}
		to, due := "-", "-"
		if l, ok := loan[c.ID]; ok {
			to, due = l.Borrower, l.Due.Format("2006-01-02 15:04")
			if l.Second != "" {
				to += "+" + l.Second
			}
			if l.MayLeave {
				to += " (may leave)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Title, c.Class.Chinese(), gateway.CarrierKinds[c.Kind], c.Home, status, seen, to, due)
	}
	return tw.Flush()
}

// readCarriersFile reads and checks a carrier CSV file.
func readCarriersFile(path string) (string, []gateway.Carrier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	carriers, err := csv.ReadCarriers(bytes.NewReader(b), path, gateway.MaxRecords)
	if err != nil {
		return "", nil, err
	}
	return string(b), carriers, nil
}

// countClasses says how many carriers of each class: "2 绝密, 10 机密".
func countClasses(carriers []gateway.Carrier) string {
	n := map[gateway.Classification]int{}
	for _, c := range carriers {
		n[c.Class]++
	}
	var parts []string
	for _, cl := range []gateway.Classification{gateway.TopSecret, gateway.Secret, gateway.Confidential} {
		if n[cl] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[cl], cl.Chinese()))
		}
	}
	return strings.Join(parts, ", ")
}

// dueTime reads a due time: a time, or a duration from now.
func dueTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--due: %s is not ahead", s)
		}
		return now.Add(d), nil
	}
	t, err := parseTime(s, now)
	if err != nil {
		return t, fmt.Errorf("--due: %w", err)
	}
	return t, nil
}

// required names every missing flag of fs.
func required(fs *flag.FlagSet, names ...string) error {
	var missing []string
	for _, n := range names {
		if f := fs.Lookup(n); f != nil && strings.TrimSpace(f.Value.String()) == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: required: %s", fs.Name(), strings.Join(missing, ", "))
	}
	return nil
}
