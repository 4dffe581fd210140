package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// safeCmd is `safe release` (through the running gateway).
func safeCmd(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	if sub != "release" {
		return usagef("safe: unknown subcommand %q (want release)", sub)
	}
	fs := newFlags("safe release", stderr)
	r := remoteFlags(fs, 30*time.Second)
	safe := fs.String("safe", "", "the safe, as the config's safes section names it")
	reason := fs.String("reason", "", "why it is released (recorded with it)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if err := required(fs, "safe", "reason"); err != nil {
		return err
	}
	res, err := r.call(ctx, "safe/release", map[string]any{"safe": *safe, "reason": *reason})
	if err != nil {
		return err
	}
	if res["waiting_for"] != nil {
		fmt.Fprintf(stdout, "%v: asked; it holds top-secret carriers: %v releases it with you, from their own session or key\n", res["safe"], res["waiting_for"])
		return nil
	}
	fmt.Fprintf(stdout, "%v released (%v for %v ms)\n", res["safe"], res["lock"], res["release_ms"])
	return nil
}
