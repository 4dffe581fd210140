package gateway

import (
	"runtime/debug"
	"strings"
)

// BuildVersion is a binary's version: the one the build set (make's
// -ldflags "-X main.version=…"), or else what Go recorded of the build (the
// module's version when installed with go install, else the VCS revision
// and its time, "-dirty" with uncommitted changes), or "devel".
func BuildVersion(set string) string {
	if set != "" {
		return set
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, at string
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	v := "devel-" + rev[:min(12, len(rev))]
	if at != "" {
		v += "-" + strings.NewReplacer("-", "", ":", "", "T", "", "Z", "").Replace(at)
	}
	if dirty {
		v += "-dirty"
	}
	return v
}
