package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
)

// keyFile is where the room's secret key lives: the config's, or next to
// the log.
func keyFile(cfg *config.Config) string {
	if cfg.Access.KeyFile != "" {
		return cfg.Access.KeyFile
	}
	return strings.TrimSuffix(cfg.Storage.Path, filepath.Ext(cfg.Storage.Path)) + ".key"
}

// loadKey reads the room's key for the keyed hashes of card and ID numbers,
// creating it (32 random bytes, mode 0600) on first use. It refuses a key
// file others can read.
func loadKey(path string) (gateway.Keyed, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		if _, err := f.Write(key); err != nil {
			return nil, fmt.Errorf("key file: %w", errors.Join(err, f.Close()))
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s: mode %v lets others read it; chmod 600", path, st.Mode().Perm())
	}
	if len(b) < 16 {
		return nil, fmt.Errorf("key file %s: %d bytes, want at least 16", path, len(b))
	}
	return b, nil
}

// simPath is where the gateway opens serial device id: its configured path,
// or in a simulated room the gateway side of its pseudo-terminal pair.
func (d *daemon) simPath(id, path string) string {
	if d.sim != nil {
		for _, p := range d.sim.Ports {
			if p.Device == id {
				return p.GatewayPath
			}
		}
	}
	return path
}
