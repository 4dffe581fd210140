package cli

import (
	"fmt"
	"strings"
)

// ManPage is a command's manual page (man(7) roff), made from its usage
// text: each "  name   what it does" line of it an entry (issue 32: the
// packages' man pages, generated from the commands' help).
func ManPage(name, date, summary, usage, seeAlso string) string {
	esc := func(s string) string {
		s = strings.ReplaceAll(s, `\`, `\\`)
		s = strings.ReplaceAll(s, "-", `\-`)
		if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
			s = `\&` + s
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s 1 %q %q\n", strings.ToUpper(name), date, name)
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", esc(name), esc(summary))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n.I command\n[\n.I flags\n]\n", esc(name))
	b.WriteString(".SH COMMANDS\n")
	for _, line := range strings.Split(usage, "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		cmd, what := splitColumns(strings.TrimSpace(line))
		fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", esc(cmd), esc(what))
	}
	fmt.Fprintf(&b, ".SH DESCRIPTION\nRun\n.B %s\n.I command\n.B \\-h\nfor a command's flags.\n", esc(name))
	if seeAlso != "" {
		fmt.Fprintf(&b, ".SH SEE ALSO\n%s\n", esc(seeAlso))
	}
	return b.String()
}

// splitColumns splits a usage line at its first run of two or more
// spaces: the command, and what it does.
func splitColumns(line string) (string, string) {
	if i := strings.Index(line, "  "); i > 0 {
		return line[:i], strings.TrimSpace(line[i:])
	}
	return line, ""
}
