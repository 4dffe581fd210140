package csv

import (
	stdcsv "encoding/csv"
	"io"
	"strings"
)

// formulaStart are the first characters that make a spreadsheet read a cell
// as a formula (OWASP: CSV injection).
const formulaStart = "=+-@\t\r"

// Cell is v safe to open in a spreadsheet: a cell that begins with =, +,
// -, @, a tab or a carriage return gets an apostrophe in front, so it is read
// as text, never run as a formula (=HYPERLINK(…), =cmd|…).
func Cell(v string) string {
	if v != "" && strings.ContainsRune(formulaStart, rune(v[0])) {
		return "'" + v
	}
	return v
}

// uncell takes off the apostrophe Cell put in front, so a register reads its
// own export back unchanged.
func uncell(v string) string {
	if len(v) > 1 && v[0] == '\'' && strings.ContainsRune(formulaStart, rune(v[1])) {
		return v[1:]
	}
	return v
}

// Writer writes CSV records whose every cell is passed through Cell: every
// CSV the project writes goes through one.
type Writer struct{ w *stdcsv.Writer }

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{stdcsv.NewWriter(w)} }

// Write writes one record, each cell made safe.
func (w *Writer) Write(record []string) error {
	safe := make([]string, len(record))
	for i, v := range record {
		safe[i] = Cell(v)
	}
	return w.w.Write(safe)
}

// Flush writes what is buffered; Error tells whether a write failed.
func (w *Writer) Flush() { w.w.Flush() }

// Error is the first error of a Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }
