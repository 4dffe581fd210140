package main

import (
	"fmt"
	"io"

	"github.com/roomguard/roomguard/gateway/config"
)

func checkConfigCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", stderr)
	path := fs.String("config", defaultConfig, "room config file")
	if err := fs.Parse(args); err != nil {
		return err
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
