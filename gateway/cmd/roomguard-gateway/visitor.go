package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// visitorCmd is `visitor register`, `visitor checkout` (both through the
// running gateway) and `visitor list` (read from the log).
func visitorCmd(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	switch sub {
	case "register":
		return visitorRegister(ctx, args, stdout, stderr)
	case "checkout":
		fs := newFlags("visitor checkout", stderr)
		r := remoteFlags(fs, 30*time.Second)
		visit := fs.String("visit", "", "the visit id (see visitor list)")
		if err := fs.Parse(args); err != nil {
			return badUsage(err)
		}
		if *visit == "" {
			return fmt.Errorf("visitor checkout: --visit is required")
		}
		res, err := r.call(ctx, "visitor/checkout", map[string]any{"visit": *visit})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "visit %v checked out at %v; the card is returned\n", res["visit"], res["checked_out_at"])
		return nil
	case "list":
		fs := newFlags("visitor list", stderr)
		cfgPath := fs.String("config", defaultConfig, "room config file (for its storage path)")
		db := fs.String("db", "", "event log file (instead of the config's storage path)")
		all := fs.Bool("all", false, "closed visits too")
		since := fs.String("since", "", "registered from (2026-11-22, RFC 3339, or a duration back such as 720h)")
		if err := fs.Parse(args); err != nil {
			return badUsage(err)
		}
		from, err := parseTime(*since, time.Now())
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		rd, err := openLog(*db, *cfgPath)
		if err != nil {
			return err
		}
		defer rd.Close()
		visits, err := rd.Visits(!*all, from)
		if err != nil {
			return err
		}
		return printVisits(stdout, visits)
	}
	return usagef("visitor: unknown subcommand %q (want register, checkout or list)", sub)
}

func visitorRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("visitor register", stderr)
	r := remoteFlags(fs, 30*time.Second)
	v := map[string]*string{}
	for _, f := range []struct{ name, usage string }{
		{"name", "the visitor's name"},
		{"id-type", "resident-id, passport, officer-id or other"},
		{"id-number", "the identity document's number (stored masked)"},
		{"organization", "the visitor's organization"},
		{"purpose", "why the visitor comes"},
		{"host", "person id of who receives the visitor"},
		{"escort", "person id of who escorts the visitor"},
		{"card", "the temporary card handed out"},
	} {
		v[f.name] = fs.String(f.name, "", f.usage)
	}
	fromFlag := fs.String("from", "", "start of the visit (default now; 2026-11-22T09:00 or RFC 3339)")
	untilFlag := fs.String("until", "", "end of the visit (2026-11-22T12:00, RFC 3339, or a duration after the start such as 2h)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	var missing []string
	for name, p := range v {
		if strings.TrimSpace(*p) == "" {
			missing = append(missing, "--"+name)
		}
	}
	if *untilFlag == "" {
		missing = append(missing, "--until")
	}
	if len(missing) > 0 {
		return fmt.Errorf("visitor register: required: %s", strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	from, until, err := visitWindow(*fromFlag, *untilFlag, time.Now())
	if err != nil {
		return err
	}
	res, err := r.call(ctx, "visitor/register", map[string]any{"visitor": map[string]any{
		"name": *v["name"], "id_type": *v["id-type"], "id_number": *v["id-number"], "organization": *v["organization"],
		"purpose": *v["purpose"], "host": *v["host"], "escort": *v["escort"], "card": *v["card"],
		"from": from.Format(time.RFC3339), "until": until.Format(time.RFC3339)}})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "visit %v registered: %s, %v, card %v, %s – %s\n", res["visit"], *v["name"], res["id_masked"], res["card"],
		from.Format("2006-01-02 15:04"), until.Format("2006-01-02 15:04"))
	return nil
}

// visitWindow reads --from (default now) and --until (a time, or a duration
// after the start).
func visitWindow(fromFlag, untilFlag string, now time.Time) (from, until time.Time, err error) {
	from = now
	if fromFlag != "" {
		if from, err = parseTime(fromFlag, now); err != nil {
			return from, until, fmt.Errorf("--from: %w", err)
		}
	}
	if d, err := time.ParseDuration(untilFlag); err == nil {
		return from, from.Add(d), nil
	}
	if until, err = parseTime(untilFlag, now); err != nil {
		return from, until, fmt.Errorf("--until: %w", err)
	}
	return from, until, nil
}

func printVisits(w io.Writer, visits []gateway.Visit) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VISIT\tNAME\tID\tORGANIZATION\tHOST\tESCORT\tCARD\tFROM\tUNTIL\tCHECKED OUT")
	for _, v := range visits {
		out := "-"
		if !v.CheckedOutAt.IsZero() {
			out = v.CheckedOutAt.Format("2006-01-02 15:04") + " by " + v.CheckedOutBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Name, v.IDMasked, v.Organization, v.Host, v.Escort,
			gateway.MaskCard(v.Card), v.From.Format("2006-01-02 15:04"), v.Until.Format("2006-01-02 15:04"), out)
	}
	return tw.Flush()
}
