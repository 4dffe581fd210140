package http_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// tool finds a program make test installs; without it a test fails under
// CI and skips elsewhere.
func tool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (make test installs it)", names[0])
	}
	t.Skipf("%s is not installed; make test installs it", names[0])
	return ""
}

// ledgerConsole is a console with a register and a day of events for
// every printed register.
func ledgerConsole(t *testing.T) *console {
	c := newConsole(t, "insp:auditor")
	if err := c.store.SaveRegister(dashboard.Register{Kind: "personnel", Version: 1, Count: 2, Updated: t0, UpdatedBy: "insp",
		CSV: "id,name,cards,level,role,rooms\np-zhang,张伟,1234567890,core,clerk,*\np-li,李娜,1234567891,core,security-officer,*\n"}); err != nil {
		t.Fatal(err)
	}
	c.srv.Unit = "某市委机要局"
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1", "name": "机要室 301", "names": map[string]string{"safe-a": "保密柜A", "reader-out": "门外读卡器"}})
	ev := c.events()
	ev.add("r1", 10, "access.granted", "reader-out", "p-zhang", map[string]any{"reader": "reader-out", "direction": "in", "person_id": "p-zhang", "person_name": "张伟", "card": "******6CED", "door": "door-main"})
	ev.add("r1", 20, "visitor.registered", "", "v-1", map[string]any{"visit": "v-1", "name": "刘访", "id_type": "resident-id", "id_masked": "110105********002X",
		"organization": "某厂", "purpose": "维修", "host": "p-li", "escort": "p-zhang", "card": "******0001", "from": t0.Format(gateway.TimeFormat), "until": t0.Format(gateway.TimeFormat), "by": "p-li"})
	ev.add("r1", 30, "safe.combination_changed", "safe-a", "p-zhang", map[string]any{"subject": "safe-a", "kind": "combination", "holder": "p-zhang", "by": "p-zhang", "witness": "p-li"})
	ev.add("r1", 40, "carrier.destroyed", "JM-2026-0001-02", "", map[string]any{"carrier": "JM-2026-0001-02", "title": "干部任免通知", "class": "secret",
		"kind": "document", "home": "safe-a", "by": "p-zhang", "was": "home", "list": "XH-20261122-080040", "method": "shredder", "approver": "p-li", "witnesses": []string{"p-li", "p-zhang"}})
	return c
}

// Issue 31, item 4: every register prints in the layout of its paper
// form: the unit and the room in the title, the period, Chinese headings,
// names not ids, signature lines, the log at the foot.
func TestLedgersPrint(t *testing.T) {
	c := ledgerConsole(t)
	in := c.as("insp")
	want := map[string][]string{
		"entries":     {"出入登记簿", "<th>姓名</th>", "张伟", "门外读卡器", "值班人员（签字）"},
		"visitors":    {"来访登记簿", "<th>陪同人</th>", "刘访", "110105********002X", "李娜"},
		"carriers":    {"涉密载体台账", "JM-2026-0001-02", "碎纸机粉碎", "机要员（签字）"},
		"seals":       {"封门记录", "本期无记录"},
		"handovers":   {"交接班记录", "<th>接班人</th>"},
		"keys":        {"钥匙、密码更换记录", "保密柜A", "密码", "李娜"},
		"maintenance": {"维修记录", "<th>媒介检查</th>"},
	}
	for kind, words := range want {
		code, body := in.get("/ledgers/" + kind + "?room=r1&from=2026-11-22&until=2026-11-22")
		if code != 200 {
			t.Fatalf("%s: %d\n%s", kind, code, body)
		}
		words = append(words, `id="ledger-title">某市委机要局 `, "期间：2026-11-22 至 2026-11-22", `id="ledger-chain"`, "第 \" counter(page) \" 页 共 \" counter(pages) \" 页")
		for _, w := range words {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", kind, w)
			}
		}
		for _, id := range []string{">p-zhang<", ">p-li<", ">safe-a<"} {
			if strings.Contains(body, id) {
				t.Errorf("%s shows %s by its id", kind, id)
			}
		}
	}
	if code, _ := in.get("/ledgers/nothing?room=r1&from=2026-11-22&until=2026-11-22"); code != 404 {
		t.Fatalf("an unknown register: %d", code)
	}
}

// The PDF, made by the console with headless Chromium: its Chinese text is
// text (pdftotext extracts it), its pages numbered 第 N 页 共 M 页, its
// file named for the room, the register and the period.
func TestLedgerPDF(t *testing.T) {
	tool(t, "chromium", "chromium-browser", "google-chrome")
	pdftotext := tool(t, "pdftotext")
	c := ledgerConsole(t)
	ev := c.events()
	for i := range 120 { // enough rows for more than one page
		ev.add("r1", float64(100+i), "access.granted", "reader-out", "p-li", map[string]any{"reader": "reader-out", "direction": "in", "person_id": "p-li", "person_name": "李娜", "card": "******24E2", "door": "door-main"})
	}
	in := c.as("insp")
	res, body := in.raw("/ledgers/entries?room=r1&from=2026-11-22&until=2026-11-22&pdf=1")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "roomguard-r1-entries-2026-11-22-2026-11-22.pdf") {
		t.Fatalf("PDF: %d %v\n%s", res.StatusCode, res.Header, body[:min(len(body), 300)])
	}
	text, pages := pdfText(t, pdftotext, body)
	for _, w := range []string{"出入登记簿", "某市委机要局", "张伟", "李娜", "第1页共", "值班人员（签字）"} {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF's text lacks %q:\n%s", w, text[:min(len(text), 1500)])
		}
	}
	if pages < 2 || !strings.Contains(text, "第"+itoa(pages)+"页共"+itoa(pages)+"页") {
		t.Errorf("%d pages; the last footer should say 第 %d 页 共 %d 页", pages, pages, pages)
	}
}

// raw gets path whole: the response and its bytes.
func (b *browser) raw(path string) (*http.Response, []byte) {
	b.c.t.Helper()
	res, err := b.client.Get(b.c.url + path)
	if err != nil {
		b.c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.c.t.Fatal(err)
	}
	return res, body
}

func itoa(n int) string { return strconv.Itoa(n) }

// Every register, made into a PDF by Chromium at A4: its title, its
// headings and its page numbers are text.
func TestEveryLedgerPDF(t *testing.T) {
	tool(t, "chromium", "chromium-browser", "google-chrome")
	pdftotext := tool(t, "pdftotext")
	c := ledgerConsole(t)
	in := c.as("insp")
	for kind, words := range map[string][]string{"entries": {"出入登记簿", "姓名"}, "visitors": {"来访登记簿", "陪同人", "刘访"},
		"carriers": {"涉密载体台账", "经办"}, "seals": {"封门记录", "结论"}, "handovers": {"交接班记录", "接班人"},
		"keys": {"钥匙、密码更换记录", "见证人", "保密柜A"}, "maintenance": {"维修记录", "媒介检查"}} {
		res, body := in.raw("/ledgers/" + kind + "?room=r1&from=2026-11-22&until=2026-11-22&pdf=1")
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", kind, res.StatusCode, body[:min(len(body), 300)])
		}
		text, _ := pdfText(t, pdftotext, body)
		for _, w := range append(words, "某市委机要局", "第1页共1页", "（签字）") {
			if !strings.Contains(text, w) {
				t.Errorf("%s's PDF lacks %q: %s", kind, w, text[:min(len(text), 600)])
			}
		}
	}
}

// The self-inspection report with its checklist and findings, as its PDF:
// the page as printed, its pages numbered.
func TestInspectionReportPDF(t *testing.T) {
	tool(t, "chromium", "chromium-browser", "google-chrome")
	pdftotext := tool(t, "pdftotext")
	c := ledgerConsole(t)
	in := c.as("insp")
	in.post("/findings/open", url.Values{"csrf": {in.csrf("/inspection")}, "room": {"r1"}, "item": {"keys"}, "text": {"保密柜A 密码逾期未换"},
		"owner": {"p-zhang"}, "deadline": {"2026-11-30"}})
	res, body := in.raw("/inspection?room=r1&from=2026-11-22&until=2026-11-22&pdf=1")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "roomguard-r1-inspection-2026-11-22-2026-11-22.pdf") {
		t.Fatalf("PDF: %d %v %s", res.StatusCode, res.Header, body[:min(len(body), 300)])
	}
	text, _ := pdfText(t, pdftotext, body)
	for _, w := range []string{"检查项目", "钥匙、密码按期更换", "保密柜A密码逾期未换", "张伟", "第1页共"} {
		if !strings.Contains(text, w) {
			t.Errorf("the report's PDF lacks %q: %s", w, text[:min(len(text), 800)])
		}
	}
	if strings.Contains(text, "登记问题") {
		t.Error("the report's PDF shows its forms")
	}
}

// pdfText is a PDF's text as pdftotext extracts it, its spaces dropped
// (the extraction spaces CJK as it likes), and its number of pages.
func pdfText(t *testing.T, pdftotext string, pdf []byte) (string, int) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-layout", f, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(out)), ""), strings.Count(string(out), "\f")
}
