// Command roomguard-gateway guards one confidential room: it reads the room's
// sensors, logs every event durably and publishes it over MQTT.
//
//	roomguard-gateway run [--sim] [--config FILE] [--db FILE] [--listen ADDR] [--tail]
//	roomguard-gateway check-config [--config FILE | FILE]
//	roomguard-gateway events tail  [--config FILE | --db FILE] [--from SEQ]
//	roomguard-gateway events query [--config FILE | --db FILE] [--since T] [--until T] [--type T] [--device D] [--limit N] [--json]
//	roomguard-gateway seal list   [--config FILE | --db FILE]
//	roomguard-gateway seal report [--config FILE | --db FILE] [--html] SEAL-ID
//	roomguard-gateway entries query [--config FILE | --db FILE] [--person P] [--card C] [--result R] [--since T] [--until T] [--csv]
//	roomguard-gateway personnel check FILE
//	roomguard-gateway personnel import [--config FILE] [--version N] [--by WHO] FILE
//	roomguard-gateway personnel export [--config FILE | --db FILE]
//	roomguard-gateway visitor register [--config FILE] --name … --id-type … --id-number … --organization … --purpose … --host P --escort P --card C [--from T] --until T
//	roomguard-gateway visitor checkout [--config FILE] --visit V
//	roomguard-gateway visitor list [--config FILE | --db FILE] [--all]
//	roomguard-gateway carrier check FILE
//	roomguard-gateway carrier import [--config FILE] [--version N] FILE
//	roomguard-gateway carrier export|list [--config FILE | --db FILE]
//	roomguard-gateway carrier signout [--config FILE] --carrier C --borrower P [--second P] --purpose … [--due T] [--may-leave --approver P]
//	roomguard-gateway carrier return [--config FILE] --carrier C
//	roomguard-gateway carrier extend [--config FILE] --carrier C --due T --approver P
//	roomguard-gateway safe release [--config FILE] --safe S --reason R
//	roomguard-gateway inventory run [--config FILE] [--json]
//	roomguard-gateway inventory list [--config FILE | --db FILE] [--since T]
//	roomguard-gateway inventory show [--config FILE | --db FILE] [--json] [REPORT-ID]
//	roomguard-gateway cmd NAME 'JSON' [--config FILE] [--db FILE] [--by WHO]
//	roomguard-gateway arm|disarm|seal|unseal [--config FILE] [--db FILE] --by WHO
//	roomguard-gateway ack [--config FILE] [--db FILE] --by WHO --alarm ID --comment TEXT
//	roomguard-gateway keys [--config FILE] [--db FILE]
//	roomguard-gateway building --broker URL [--rooms N] [--speed X] …
//	roomguard-gateway ha-code --room ROOM PERSON < code
//	roomguard-gateway log verify [--config FILE | --db FILE] [--from SEQ] [--to SEQ]
//	roomguard-gateway version
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
	_ "time/tzdata" // the room's time zone resolves even where the system has no zoneinfo

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/cli"
)

// version is set at build time (-ldflags "-X main.version=…"); a plain go
// build takes it from the VCS (gateway.BuildVersion).
var version = ""

func init() { version = gateway.BuildVersion(version) }

const usage = `usage: roomguard-gateway <command> [flags]

commands:
  run            guard the room (--sim: a simulated room on any Linux machine)
  life           play a working day, again and again, in a room run with --sim (examples/room.yaml)
  building       run a building of simulated rooms in one process on one broker (--rooms N), each played its day
  check-config   validate the config file and exit
  events tail    print events as they are logged
  events query   print logged events by time range, type and device
  seal list      list the seal reports
  seal report    print a seal report as JSON (--html: a printable page)
  entries query  the entry log by person, card, result and time (--csv)
  personnel check   check a personnel CSV file, reporting every bad line
  personnel import  send a personnel CSV file to the running gateway as the room's new register
  personnel export  write the register the room holds as CSV
  visitor register  register a visitor and a temporary card (through the running gateway)
  visitor checkout  close a visit; the card is returned
  visitor list      the open visits (--all: closed ones too)
  carrier check     check a carrier CSV file, reporting every bad line
  carrier import    send a carrier CSV file to the running gateway as the room's new register
  carrier export    write the carrier register the room holds as CSV
  carrier list      every carrier: status, where last seen, who has it until when
  carrier signout   sign a carrier out (through the running gateway)
  carrier return    close a carrier's sign-out
  carrier extend    move a sign-out's due time, with an approver
  safe release      release a safe's lock on a board (through the running gateway)
  inventory run     count every safe now (through the running gateway)
  inventory list    the stored inventory reports
  inventory show    one report (default the latest; --json: all of it)
  cmd NAME JSON  give the running gateway one command, signed with its own key; prints the reply (exit 3: refused)
  arm, disarm, seal, unseal, ack   the same, with flags
  keys           print the public key the command line signs with (principal local)
  ha-code        a person's line for Home Assistant's codes file (homeassistant.arm): the code on stdin
  log verify     walk the log's hash chain; name the first broken link by its seq (exit 1)
  backup DIR     copy the log and its keys into a new directory under DIR, while the room runs; verified
  restore BACKUP put a backup back as the log (--resume-after SEQ, or the head on the external broker)
  version        print the version
  man            print this manual page (roff)

Run "roomguard-gateway <command> -h" for a command's flags.
`

// manDate is the manual pages' date: the packages' release.
const manDate = "2026-12-07"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "roomguard-gateway:", err)
		}
		os.Exit(exitCode(err))
	}
}

// Main runs one command.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command")
	}
	// A group of subcommands asked for help (events -h, personnel --help):
	// the commands' list. A command's own flags: its -h.
	if len(args) == 2 && isHelp(args[1]) && groups[args[0]] {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	case "life":
		return lifeCmd(ctx, args[1:], stdout, stderr)
	case "building":
		return buildingCmd(ctx, args[1:], stdout, stderr)
	case "cmd":
		return cmdCmd(ctx, args[1:], stdout, stderr)
	case "arm", "disarm", "unseal", "ack":
		return panelCmd(ctx, args[0], args[1:], stdout, stderr)
	case "keys":
		return keysCmd(args[1:], stdout, stderr)
	case "ha-code":
		return haCodeCmd(args[1:], os.Stdin, stdout, stderr)
	case "backup":
		return backupCmd(ctx, args[1:], stdout, stderr)
	case "restore":
		return restoreCmd(args[1:], stdout, stderr)
	case "log":
		if len(args) < 2 {
			return usagef("log: want verify")
		}
		return logCmd(args[1], args[2:], stdout, stderr)
	case "check-config":
		return checkConfigCmd(args[1:], stdout, stderr)
	case "events":
		if len(args) < 2 {
			return usagef("events: want tail or query")
		}
		switch args[1] {
		case "tail":
			return tailCmd(ctx, args[2:], stdout, stderr)
		case "query":
			return queryCmd(args[2:], stdout, stderr)
		}
		return usagef("events: unknown subcommand %q (want tail or query)", args[1])
	case "seal":
		if len(args) > 1 && (args[1] == "list" || args[1] == "report") {
			return sealCmd(args[1:], stdout, stderr)
		}
		return panelCmd(ctx, "seal", args[1:], stdout, stderr)
	case "entries":
		if len(args) < 2 || args[1] != "query" {
			return usagef("entries: want query")
		}
		return entriesCmd(args[2:], stdout, stderr)
	case "personnel":
		if len(args) < 2 {
			return usagef("personnel: want check, import or export")
		}
		return personnelCmd(ctx, args[1], args[2:], stdout, stderr)
	case "visitor":
		if len(args) < 2 {
			return usagef("visitor: want register, checkout or list")
		}
		return visitorCmd(ctx, args[1], args[2:], stdout, stderr)
	case "carrier":
		if len(args) < 2 {
			return usagef("carrier: want check, import, export, list, signout, return or extend")
		}
		return carrierCmd(ctx, args[1], args[2:], stdout, stderr)
	case "safe":
		if len(args) < 2 {
			return usagef("safe: want release")
		}
		return safeCmd(ctx, args[1], args[2:], stdout, stderr)
	case "inventory":
		if len(args) < 2 {
			return usagef("inventory: want run, list or show")
		}
		return inventoryCmd(ctx, args[1], args[2:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "roomguard-gateway", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "man": // the manual page the package installs, made from the usage
		if len(args) > 1 {
			fmt.Fprintln(stdout, "usage: roomguard-gateway man   (prints the manual page, roff: man -l <(roomguard-gateway man))")
			return nil
		}
		fmt.Fprint(stdout, cli.ManPage("roomguard-gateway", manDate, "security gateway of a confidential room", usage,
			"roomguard-dashboard(1), /usr/share/doc/roomguard-gateway/commands.md, /usr/share/doc/roomguard-gateway/operations.md"))
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usagef("unknown command %q", args[0])
}

// groups are the commands that take a subcommand.
var groups = map[string]bool{"events": true, "seal": true, "entries": true, "personnel": true, "visitor": true,
	"carrier": true, "safe": true, "inventory": true, "log": true}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

const defaultConfig = "/etc/roomguard/room.yaml"

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
