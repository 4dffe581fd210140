package csv_test

import (
	"bytes"
	stdcsv "encoding/csv"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/csv"
)

// Issue 19, item 8: every cell that begins with =, +, -, @, a tab or a
// carriage return is neutralised in every CSV the project writes, and the
// registers read back their own exports unchanged.
func TestCSVCellsAreNeverFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"=2*3":                     "'=2*3",
		"+86 10 1234":              "'+86 10 1234",
		"-1":                       "'-1",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\t=1":                     "'\t=1",
		"\r=1":                     "'\r=1",
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"张伟":                       "张伟",
		"":                         "",
		"a=b":                      "a=b",
	} {
		if got := csv.Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}

	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write([]string{"=2*3", "ok", "@x"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	recs, err := stdcsv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 1 || recs[0][0] != "'=2*3" || recs[0][1] != "ok" || recs[0][2] != "'@x" {
		t.Fatalf("written %q (%v)", recs, err)
	}

	// A register's export, with cells that would be formulas, reads back
	// as it was.
	cs := []gateway.Carrier{{ID: "JM-0001", EPC: "300833B2DDD9014000000001", Title: "=HYPERLINK(\"http://evil\")", Class: gateway.Secret,
		Kind: "document", Home: "safe-a", Custodian: "p-zhang"}}
	var out bytes.Buffer
	if err := csv.WriteCarriers(&out, cs); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), ",=HYPERLINK") {
		t.Fatalf("a formula went out raw:\n%s", out.String())
	}
	back, err := csv.ReadCarriers(&out, "export", gateway.MaxRecords)
	if err != nil || len(back) != 1 || back[0].Title != cs[0].Title {
		t.Fatalf("read back %+v (%v)", back, err)
	}
}
