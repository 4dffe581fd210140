package sqlite

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// DiskSpace is the size of the filesystem the log at path lives on, and
// what of it is free for the gateway (not the blocks kept for root).
func DiskSpace(path string) (total, free uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(path), &st); err != nil {
		return 0, 0, fmt.Errorf("sqlite: the log's filesystem: %w", err)
	}
	return st.Blocks * uint64(st.Bsize), st.Bavail * uint64(st.Bsize), nil
}
