package main

import (
	"bufio"
	"errors"

	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway/sysclock"
)

func user(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	fs := newFlags("user "+cmd, stderr)
	db := fs.String("db", "/var/lib/roomguard/dashboard.db", "the dashboard's database")
	var role, display, person *string
	if cmd == "add" || cmd == "bind" {
		person = fs.String("person", "", "the register person the account acts for: its commands name them (issue 17)")
	}
	if cmd == "add" {
		role = fs.String("role", "", "guard, officer, auditor or admin")
		display = fs.String("display", "", "the full name shown (default the user name)")
	}
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	clock := sysclock.New(sysclock.TrustKernel)
	store, err := sqlite.Open(*db, clock)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	switch cmd {
	case "add":
		if fs.NArg() != 1 {
			return errors.New("user add: give one user name")
		}
		name := fs.Arg(0)
		r, err := dashboard.ParseRole(*role)
		if err != nil {
			return err
		}
		if err := dashboard.CheckUserName(name); err != nil {
			return err
		}
		pw, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		pw = strings.TrimRight(pw, "\r\n")
		if err := dashboard.CheckNewPassword(name, pw); err != nil {
			return err
		}
		d := *display
		if d == "" {
			d = name
		}
		who, err := dashboard.CheckPerson(*person)
		if err != nil {
			return err
		}
		if err := store.CreateUser(dashboard.User{Name: name, Display: d, Role: r, Hash: dashboard.HashPassword(pw, dashboard.DefaultArgon2),
			Created: clock.Now(), CreatedBy: "command line", Person: who}, false); err != nil {
			return err
		}
		if err := store.Audit(dashboard.AuditEntry{At: clock.Now(), User: "command line", Action: "user.create", Target: name, Detail: "role " + string(r), Result: "ok"}); err != nil {
			return fmt.Errorf("account %s created, but not recorded in the audit log: %w", name, err)
		}
		fmt.Fprintf(stdout, "account %s (%s) created\n", name, r)
	case "bind":
		if fs.NArg() != 1 {
			return errors.New("user bind: give one user name")
		}
		who, err := dashboard.CheckPerson(*person)
		if err != nil {
			return err
		}
		if _, err := store.UpdateUser(fs.Arg(0), func(u *dashboard.User) error { u.Person = who; return nil }); err != nil {
			return err
		}
		if err := store.Audit(dashboard.AuditEntry{At: clock.Now(), User: "command line", Action: "user.person", Target: fs.Arg(0), Detail: "person " + who, Result: "ok"}); err != nil {
			return fmt.Errorf("account %s bound, but not recorded in the audit log: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stdout, "account %s acts for %q\n", fs.Arg(0), who)
	case "list":
		users, err := store.Users()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDISPLAY\tROLE\tSTATE")
		for _, u := range users {
			state := "ok"
			if u.Disabled {
				state = "disabled"
			} else if u.Locked(clock.Now()) {
				state = "locked until " + u.LockedUntil.Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Display, u.Role, state)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	case "unlock":
		if fs.NArg() != 1 {
			return errors.New("user unlock: give one user name")
		}
		if _, err := store.UpdateUser(fs.Arg(0), func(u *dashboard.User) error { u.Unlock(); return nil }); err != nil {
			return err
		}
		if err := store.Audit(dashboard.AuditEntry{At: clock.Now(), User: "command line", Action: "user.unlock", Target: fs.Arg(0), Result: "ok"}); err != nil {
			return fmt.Errorf("account %s unlocked, but not recorded in the audit log: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stdout, "account %s unlocked\n", fs.Arg(0))
	default:
		return usagef("unknown command user %q (add, list, unlock, bind)", cmd)
	}
	return nil
}
