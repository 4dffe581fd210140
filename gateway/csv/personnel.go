// Package csv reads and writes the personnel register as CSV, the form a
// security officer keeps it in (UTF-8, with or without a byte-order mark, as
// spreadsheet programs save it). An import is all or nothing: every bad line
// is reported with its number, and nothing is imported unless all are good.
package csv

import (
	"bufio"
	"bytes"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/roomguard/roomguard/gateway"
)

// Columns of the personnel CSV, in the order Export writes them. Import
// finds them by name in the header, in any order; extra columns are refused
// (a misspelt column must not be silently ignored).
var Columns = []string{"id", "name", "cards", "level", "role", "rooms", "valid_from", "valid_until", "schedule", "holidays", "duress_cards",
	"trained_on", "commitment_on", "left_on", "debriefed_on"}

var required = map[string]bool{"id": true, "name": true, "cards": true, "level": true, "role": true, "rooms": true}

// LineError is one bad line.
type LineError struct {
	Line  int
	Field string
	Msg   string
}

func (e LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// ImportError lists every bad line of an import.
type ImportError struct {
	Source string
	Lines  []LineError
}

const maxListed = 50

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d error(s), nothing imported", e.Source, len(e.Lines))
	for i, l := range e.Lines {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Lines)-maxListed)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(l.Error())
	}
	return b.String()
}

// ReadPeople reads a whole register. source names the input in errors; a
// register of more than max people is refused as soon as the line past
// max is read (the room's limits.persons).
func ReadPeople(r io.Reader, source string, max int) ([]gateway.Person, error) {
	var people []gateway.Person
	idLine := map[string]int{}
	cardLine := map[string]int{}
	err := readTable(r, source, Columns, required, rowLimit{max, "people", "limits.persons"}, func(line int, get func(string) string, fail failFunc) {
		bad := false
		p := gateway.Person{ID: get("id"), Name: get("name"), ValidFrom: get("valid_from"), ValidUntil: get("valid_until"),
			Schedule: gateway.Schedule(get("schedule")), TrainedOn: get("trained_on"), CommitmentOn: get("commitment_on"),
			LeftOn: get("left_on"), DebriefedOn: get("debriefed_on")}
		if l, err := gateway.ParseLevel(get("level")); err != nil {
			fail(line, "level", "%v", err)
			bad = true
		} else {
			p.Level = l
		}
		if r, err := gateway.ParseRole(get("role")); err != nil {
			fail(line, "role", "%v", err)
			bad = true
		} else {
			p.Role = r
		}
		p.Cards = splitList(get("cards"), gateway.NormalizeCard)
		p.DuressCards = splitList(get("duress_cards"), gateway.NormalizeCard)
		p.Rooms = splitList(get("rooms"), strings.TrimSpace)
		switch h := strings.ToLower(get("holidays")); h {
		case "", "no", "deny", "否", "0", "false":
		case "yes", "allow", "是", "1", "true":
			p.Holidays = true
		default:
			fail(line, "holidays", "%q is not yes or no (是, 否)", h)
			bad = true
		}
		if bad {
			return
		}
		if err := p.Check(); err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			fail(line, field, "%s", msg)
			return
		}
		if first, dup := idLine[p.ID]; dup {
			fail(line, "id", "%q is also on line %d", p.ID, first)
			return
		}
		idLine[p.ID] = line
		for i, c := range slices.Concat(p.Cards, p.DuressCards) {
			field := "cards"
			if i >= len(p.Cards) {
				field = "duress_cards"
			}
			if first, dup := cardLine[c]; dup {
				fail(line, field, "card %s is also on line %d (one card, one holder; a duress card is a card of its own)", gateway.MaskCard(c), first)
				bad = true
				continue
			}
			cardLine[c] = line
		}
		if !bad {
			people = append(people, p)
		}
	})
	if err != nil {
		return nil, err
	}
	return people, nil
}

type failFunc func(line int, field, format string, args ...any)

// rowLimit bounds a table's records; setting names where the bound is set.
type rowLimit struct {
	max           int
	what, setting string
}

// readTable reads a CSV table with a header naming its columns (any order,
// UTF-8 with or without a BOM) and calls row for every line; row reports a
// bad field through fail. Every bad line is reported; any makes the whole
// table fail (an *ImportError).
func readTable(r io.Reader, source string, columns []string, required map[string]bool, limit rowLimit, row func(line int, get func(string) string, fail failFunc)) error {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		if _, err := br.Discard(3); err != nil { // peeked just before: cannot fail
			return err
		}
	}
	cr := stdcsv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	ie := &ImportError{Source: source}
	fail := func(line int, field, format string, args ...any) {
		ie.Lines = append(ie.Lines, LineError{line, field, fmt.Sprintf(format, args...)})
	}
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			fail(1, "", "empty file: the first line must name the columns (%s)", strings.Join(columns, ","))
		} else {
			fail(1, "", "%v", csvErr(err))
		}
		return ie
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !slicesContains(columns, h) {
			fail(1, "", "unknown column %q (columns: %s)", h, strings.Join(columns, ", "))
			continue
		}
		if _, dup := col[h]; dup {
			fail(1, "", "column %q twice", h)
		}
		col[h] = i
	}
	for _, c := range columns {
		if _, ok := col[c]; !ok && required[c] {
			fail(1, "", "column %q is missing", c)
		}
	}
	if len(ie.Lines) > 0 {
		return ie
	}
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *stdcsv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			fail(line, "", "%v", csvErr(err))
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if rows++; rows > limit.max {
			fail(line, "", "more than %d %s: the room takes no more (%s)", limit.max, limit.what, limit.setting)
			return ie
		}
		if len(rec) != len(header) {
			fail(line, "", "%d fields, the header has %d", len(rec), len(header))
			continue
		}
		utf8OK := true
		for _, v := range rec {
			if !utf8.ValidString(v) {
				fail(line, "", "not UTF-8 (save the file as UTF-8; GBK is not read)")
				utf8OK = false
				break
			}
		}
		if !utf8OK {
			continue
		}
		row(line, func(c string) string {
			if i, ok := col[c]; ok {
				return uncell(strings.TrimSpace(rec[i]))
			}
			return ""
		}, fail)
	}
	if len(ie.Lines) > 0 {
		return ie
	}
	return nil
}

func csvErr(err error) error {
	var pe *stdcsv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// splitList splits a cell holding several values, separated by ; | or spaces.
func splitList(s string, norm func(string) string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' || r == ' ' || r == '；' }) {
		if v := norm(f); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// WritePeople writes the register, with a header and a byte-order mark so
// spreadsheet programs open the Chinese names correctly.
func WritePeople(w io.Writer, each func(fn func(*gateway.Person) error) error) error {
	return writeTable(w, Columns, func(row func([]string) error) error {
		return each(func(p *gateway.Person) error {
			holidays := "no"
			if p.Holidays {
				holidays = "yes"
			}
			return row([]string{p.ID, p.Name, strings.Join(p.Cards, ";"), string(p.Level), string(p.Role),
				strings.Join(p.Rooms, ";"), p.ValidFrom, p.ValidUntil, string(p.Schedule), holidays, strings.Join(p.DuressCards, ";"),
				p.TrainedOn, p.CommitmentOn, p.LeftOn, p.DebriefedOn})
		})
	})
}

// writeTable writes a BOM, the header and the rows each gives.
func writeTable(w io.Writer, columns []string, each func(row func([]string) error) error) error {
	if _, err := w.Write([]byte{0xEF, 0xBB, 0xBF}); err != nil {
		return err
	}
	cw := NewWriter(w)
	if err := cw.Write(columns); err != nil {
		return err
	}
	if err := each(cw.Write); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
