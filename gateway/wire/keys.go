package wire

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadKey reads a principal's private key (PKCS #8 PEM). A key others can
// read is refused: whoever reads it commands the room.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key %s: readable by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("key %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key %s: not an Ed25519 key", path)
	}
	return ek, nil
}

// LoadOrCreateKey reads the key at path, or creates one there (mode 0600)
// when there is none; created says which.
func LoadOrCreateKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	k, err := LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, false, fmt.Errorf("key %s: %w", path, err)
	}
	_, k, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("key %s: %w", path, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		return nil, false, errors.Join(fmt.Errorf("key %s: %w", path, err), f.Close())
	}
	if err := f.Sync(); err != nil {
		return nil, false, errors.Join(fmt.Errorf("key %s: %w", path, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("key %s: %w", path, err)
	}
	return k, true, nil
}

// RoomKeyPath is where the gateway keeps the room's own key, which signs
// its log's checkpoints (issue 18): next to the log (jiyao-301.room.key).
func RoomKeyPath(logPath string) string {
	return strings.TrimSuffix(logPath, filepath.Ext(logPath)) + ".room.key"
}

// LocalKeyPath is where the gateway keeps its command line's key: next to
// the log (jiyao-301.db: jiyao-301.command.key).
func LocalKeyPath(logPath string) string {
	return strings.TrimSuffix(logPath, filepath.Ext(logPath)) + ".command.key"
}

// HomeAssistantKeyPath is where the gateway keeps the key Home Assistant's
// arming signs with (homeassistant.arm): next to the log
// (jiyao-301.homeassistant.key).
func HomeAssistantKeyPath(logPath string) string {
	return strings.TrimSuffix(logPath, filepath.Ext(logPath)) + ".homeassistant.key"
}
