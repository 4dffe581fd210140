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
	broker := "embedded broker on " + c.MQTT.Embedded.Listen
	if c.MQTT.External() {
		broker = "external broker " + c.MQTT.URL
	}
	fmt.Fprintf(stdout, "%s: room %s (%s): %d inputs, %d outputs, %d serial devices, %s, log %s\n",
		*path, c.Room.ID, c.Room.Name, len(c.Inputs), len(c.Outputs), len(c.Serial), broker, c.Storage.Path)
	return nil
}
