// Command roomguard-dashboard is the guard station's console: it subscribes
// to every room on the broker, keeps a replica of every event they log, and
// serves the web console.
//
//	roomguard-dashboard serve [--db FILE] [--listen ADDR] [--broker URL] [--user U --password-file F] [--ca-file F] [--cert-file F --key-file F] [--tls-cert F --tls-key F] [--secure-cookies]
//	roomguard-dashboard user add    [--db FILE] --role ROLE [--display NAME] NAME   (the password is read from stdin)
//	roomguard-dashboard user list   [--db FILE]
//	roomguard-dashboard user unlock [--db FILE] NAME
//	roomguard-dashboard user bind   [--db FILE] --person ID NAME   (the register person the account acts for)
//	roomguard-dashboard room add  [--db FILE] [--fingerprint FP] ROOM   (the rooms the console shows: no other)
//	roomguard-dashboard room list [--db FILE]
//	roomguard-dashboard keys   [--db FILE] [--principal NAME]   (prints the console's principal, creating its key)
//	roomguard-dashboard backup [--db FILE] DIR
//	roomguard-dashboard restore [--db FILE] BACKUP
//	roomguard-dashboard version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/cli"
)

// version is set at build time (-ldflags "-X main.version=…"); a plain go
// build takes it from the VCS (gateway.BuildVersion).
var version = ""

func init() { version = gateway.BuildVersion(version) }

const usage = `usage: roomguard-dashboard <command> [flags]

commands:
  serve        connect to the broker, keep the replica, serve the console
  user add     create an account (the password is read from stdin)
  user list    list the accounts
  user unlock  unlock an account locked by wrong passwords
  user bind    the register person an account acts for (--person; its commands name them)
  room add     add a room to those the console shows (--fingerprint: its key's, from roomguard-gateway keys)
  room list    list the rooms the console shows, and whether each one's key is confirmed
  keys         print the console's principal for a room's config (creates its key)
  backup DIR   copy the database (replica, accounts, audit, pinned keys) and the key into DIR, while it runs
  restore DIR  put a backup back (never over a database); the rooms re-send what came since
  version      print the version
  man          print this manual page (roff)

Run "roomguard-dashboard <command> -h" for a command's flags.
`

// manDate is the manual pages' date: the packages' release.
const manDate = "2026-12-07"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "roomguard-dashboard:", err)
		}
		os.Exit(exitCode(err))
	}
}

// Main runs one command.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "user":
		if len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
			fmt.Fprint(stdout, usage)
			return nil
		}
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return usagef("user: want add, list, unlock or bind")
		}
		return user(args[1], args[2:], stdin, stdout, stderr)
	case "room":
		if len(args) < 2 || args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
			fmt.Fprint(stdout, usage)
			if len(args) < 2 {
				return usagef("room: want add or list")
			}
			return nil
		}
		return room(args[1], args[2:], stdout, stderr)
	case "keys":
		return keys(args[1:], stdout, stderr)
	case "backup":
		return backupCmd(ctx, args[1:], stdout, stderr)
	case "restore":
		return restoreCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "roomguard-dashboard", version)
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "man": // the manual page the package installs, made from the usage
		if len(args) > 1 {
			fmt.Fprintln(stdout, "usage: roomguard-dashboard man   (prints the manual page, roff)")
			return nil
		}
		fmt.Fprint(stdout, cli.ManPage("roomguard-dashboard", manDate, "the guard console of confidential rooms", usage,
			"roomguard-gateway(1), /usr/share/doc/roomguard-dashboard/console.md"))
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usagef("unknown command %q", args[0])
}

// defaultDB is where the dashboard keeps its database on a real install.
const defaultDB = "/var/lib/roomguard/dashboard.db"

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// exitCode is the process's exit status for err: 0 done (or help asked
// for), 1 a failure while running, 2 bad usage or a bad flag value.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case cli.IsUsage(err):
		return 2
	}
	return 1
}

// usagef and badUsage: the shared conventions (gateway/cli).
var (
	usagef   = cli.Usagef
	badUsage = cli.BadUsage
)
