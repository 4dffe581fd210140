package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/roomguard/roomguard/gateway/config"
)

func checkConfigCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", stderr)
	path := fs.String("config", defaultConfig, "room config file (or give it as the argument: check-config FILE)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	switch fs.NArg() {
	case 0:
	case 1:
		if flagGiven(fs, "config") && *path != fs.Arg(0) {
			return usagef("check-config: two files, --config %s and %s: give one", *path, fs.Arg(0))
		}
		*path = fs.Arg(0)
	default:
		return usagef("check-config: one file at most, not %q", fs.Args())
	}
	c, err := config.Load(*path)
	if err != nil {
		return err
	}
	var broker string
	if c.MQTT.External() {
		broker = "external broker " + c.MQTT.URL
	} else {
		broker = "embedded broker on " + c.MQTT.Embedded.Listen
	}
	fmt.Fprintf(stdout, "%s: room %s (%s): %d inputs, %d outputs, %d serial devices, %d boards (%d points), %s, log %s\n",
		*path, c.Room.ID, c.Room.Name, len(c.Inputs), len(c.Outputs), len(c.Serial), len(c.Boards), boardPoints(c), broker, c.Storage.Path)
	for _, w := range c.Warnings() {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	return nil
}

// boardPoints counts the boards' zones, locks and relays.
func boardPoints(c *config.Config) int {
	n := 0
	for _, b := range c.Boards {
		n += len(b.Zones) + len(b.Locks) + len(b.Relays)
	}
	return n
}

// flagGiven tells whether the command line set the flag name.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
