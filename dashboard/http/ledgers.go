package http

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
)

// The office's registers on paper (issue 31, item 4): each in the layout
// of its paper form — the unit and the room in the title, the period,
// Chinese column headings, names not ids, local time, numbered pages
// (第 N 页 共 M 页, the print stylesheet's page boxes), signature lines
// where the paper has them, and the room's log at the foot (its last
// signed checkpoint in the period, how far the console verified it).
// Printed from the browser (A4), or as a PDF the console makes with
// headless Chromium.

// ledger is one register, ready to print.
type ledger struct {
	Kind, Title, Unit, RoomName, Room string
	From, Until                       string // YYYY-MM-DD, until included
	Columns                           []string
	Rows                              [][]string
	Signatures                        []string
	Chain                             []string // the foot: each room's log
	Generated                         string
	By                                string
}

// ledgerKinds are the registers, in the console's order, with their titles.
var ledgerKinds = []struct{ Kind, Title string }{
	{"entries", "出入登记簿"}, {"visitors", "来访登记簿"}, {"carriers", "涉密载体台账（收文、传阅、借阅、归档、清退、销毁）"},
	{"seals", "封门记录"}, {"handovers", "交接班记录"}, {"keys", "钥匙、密码更换记录"}, {"maintenance", "维修记录"},
}

// ledgerPage serves a register to print, or its PDF (?pdf=1).
func (s *Server) ledgerPage(w http.ResponseWriter, r *request) {
	q := r.URL.Query()
	kind := r.PathValue("kind")
	from, until, err := s.period(q.Get("from"), q.Get("until"))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	l, err := s.ledger(r, kind, q.Get("room"), from, until)
	if err != nil {
		code := http.StatusInternalServerError
		if gateway.ErrorCode(err) == gateway.ENOTFOUND {
			code = http.StatusNotFound
		}
		s.fail(w, r, code, err.Error())
		return
	}
	var page bytes.Buffer
	if err := ledgerTemplate.Execute(&page, l); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.auditf(r, "ledger.read", l.Room, kind, l.From+" – "+l.Until, "ok")
	if q.Get("pdf") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		s.deliver(w, "ledger "+kind, page.Bytes())
		return
	}
	pdf, err := s.printPDF(r.Context(), page.Bytes())
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	name := fmt.Sprintf("roomguard-%s-%s-%s-%s.pdf", cmp.Or(l.Room, "all"), kind, l.From, l.Until)
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	s.deliver(w, "ledger pdf "+kind, pdf)
}

// ledger builds register kind of room (every room when empty) over
// [from, until).
func (s *Server) ledger(r *request, kind, room string, from, until time.Time) (*ledger, error) {
	n := s.names("zh")
	l := &ledger{Kind: kind, Unit: s.Unit, Room: room, RoomName: n.Room(room), From: from.In(s.zone()).Format(time.DateOnly),
		Until: until.Add(-time.Nanosecond).In(s.zone()).Format(time.DateOnly), Generated: s.Clock.Now().In(s.zone()).Format("2006-01-02 15:04"),
		By: cmp.Or(r.User.Display, r.User.Name)}
	if room == "" {
		l.RoomName = "全部机要室"
	}
	for _, k := range ledgerKinds {
		if k.Kind == kind {
			l.Title = k.Title
		}
	}
	if l.Title == "" {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "no register %q", kind)
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(s.zone()).Format("2006-01-02 15:04")
	}
	events := func(types ...string) ([]dashboard.Record, error) {
		return s.Store.Events(sqlite.EventFilter{Room: room, Types: types, Since: from, Until: until})
	}
	data := func(rec dashboard.Record) map[string]any {
		var d map[string]any
		if err := json.Unmarshal(rec.Data, &d); err != nil { // shown empty; the room page says it is unreadable
			s.Log.Warn("an event's data unreadable: its line shown empty", "room", rec.Room, "seq", rec.Seq, "err", err)
		}
		return d
	}
	str := func(d map[string]any, k string) string { v, _ := d[k].(string); return v }
	switch kind {
	case "entries":
		l.Columns = []string{"时间", "机要室", "姓名", "进出", "结果", "读卡器", "卡号", "原因"}
		es, err := s.Store.Entries(dashboard.EntryFilter{Room: room, Since: from, Until: until, Limit: 100000})
		if err != nil {
			return nil, err
		}
		slices.Reverse(es) // oldest first, as the paper is written
		for _, e := range es {
			l.Rows = append(l.Rows, []string{at(e.TS), n.Room(e.Room), cmp.Or(e.PersonName, n.Person(e.Person)), word("zh", "dir", e.Direction),
				tr("zh", "result."+e.Result), n.Device(e.Room, e.Reader), e.Card, word("zh", "deny", e.Reason)})
		}
		l.Signatures = []string{"值班人员", "保密员"}
	case "visitors":
		l.Columns = []string{"来访时间", "姓名", "证件号（掩码）", "单位", "事由", "接待人", "陪同人", "离开时间"}
		recs, err := events("visitor.registered", "visitor.checked_out")
		if err != nil {
			return nil, err
		}
		row := map[string]int{}
		for _, rec := range recs {
			d := data(rec)
			key := rec.Room + "/" + str(d, "visit")
			if rec.Type == "visitor.checked_out" {
				if i, ok := row[key]; ok {
					l.Rows[i][7] = at(rec.TS)
				}
				continue
			}
			row[key] = len(l.Rows)
			l.Rows = append(l.Rows, []string{at(rec.TS), str(d, "name"), str(d, "id_masked"), str(d, "organization"), str(d, "purpose"),
				n.Person(str(d, "host")), n.Person(str(d, "escort")), ""})
		}
		l.Signatures = []string{"登记人", "保密员"}
	case "carriers":
		l.Columns = []string{"时间", "载体编号", "事项", "经办"}
		recs, err := events("carrier.", "custody.")
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			switch rec.Type {
			case "carrier.moved", "carrier.home", "carrier.away", "carrier.step_asked", "carrier.confirmed", "carrier.tag_bound", "carrier.binding":
				continue // the ledger's entries, not the tracking's
			}
			l.Rows = append(l.Rows, []string{at(rec.TS), rec.Device, n.Say(rec.Event), n.Person(rec.Person)})
		}
		l.Signatures = []string{"机要员", "保密员"}
	case "seals":
		l.Columns = []string{"时间", "机要室", "事项", "经办", "结论"}
		recs, err := events("mode.sealed", "mode.unsealed", "seal.report")
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			d := data(rec)
			verdict := str(d, "verdict")
			if verdict != "" {
				verdict = tr("zh", "verdict."+verdict)
			}
			l.Rows = append(l.Rows, []string{at(rec.TS), n.Room(rec.Room), word("zh", "ev", rec.Type), n.Say(rec.Event), verdict})
		}
		l.Signatures = []string{"封门人", "启封人", "保密员"}
	case "handovers":
		l.Columns = []string{"交班时间", "交班人", "交班说明", "未处理报警", "接班时间", "接班人", "接班说明"}
		hs, err := s.Store.Handovers(10000)
		if err != nil {
			return nil, err
		}
		slices.Reverse(hs)
		for _, h := range hs {
			if h.OutAt.Before(from) || !h.OutAt.Before(until) {
				continue
			}
			l.Rows = append(l.Rows, []string{at(h.OutAt), h.Outgoing, h.Notes, fmt.Sprint(len(h.Alarms)), at(h.InAt), h.Incoming, h.InNotes})
		}
		l.Signatures = []string{"交班人", "接班人"}
	case "keys":
		l.Columns = []string{"时间", "保密柜、门", "类别", "更换人", "见证人", "保管人"}
		recs, err := events("safe.combination_changed")
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			d := data(rec)
			l.Rows = append(l.Rows, []string{at(rec.TS), n.Device(rec.Room, str(d, "subject")), word("zh", "keykind", str(d, "kind")),
				n.Person(str(d, "by")), n.Person(str(d, "witness")), n.Person(str(d, "holder"))})
		}
		l.Signatures = []string{"保密员"}
	case "maintenance":
		l.Columns = []string{"批准时间", "维修单位", "设备", "维修人员", "监修人", "审批领导", "结束时间", "媒介检查", "维修情况"}
		views, err := s.maintenanceVisits("")
		if err != nil {
			return nil, err
		}
		slices.Reverse(views)
		for _, m := range views {
			if room != "" && m.Room != room || m.Asked.Before(from) || !m.Asked.Before(until) {
				continue
			}
			var techs []string
			for _, t := range m.Technicians {
				techs = append(techs, t["name"]+" "+t["id_masked"])
			}
			media := ""
			if m.Media != "" {
				media = word("zh", "media", m.Media)
			}
			l.Rows = append(l.Rows, []string{at(m.Approved), m.Company, m.Equipment, strings.Join(techs, "、"), n.Person(m.Custodian),
				n.Person(m.Approver), at(m.Closed), media, m.Note})
		}
		l.Signatures = []string{"监修人", "保密员"}
	}
	// The foot: each room's log, as the self-inspection report says it.
	in, err := s.inspect(room, l.From, l.Until)
	if err == nil {
		for rm, c := range in.Chain {
			line := n.Room(rm) + "：日志无签名检查点"
			if c.Head != "" {
				line = fmt.Sprintf("%s：最后签名检查点 序号 %d（%s） %s", n.Room(rm), c.Through, at(c.At), c.Head)
			}
			if c.Verified > 0 {
				line += fmt.Sprintf("；值班台已校验至序号 %d", c.Verified)
			}
			l.Chain = append(l.Chain, line)
		}
		slices.Sort(l.Chain)
	}
	return l, nil
}

// ledgerTemplate is a register on A4: a document of its own (styles
// inline, no navigation), the same whether printed from the browser or
// made into a PDF.
var ledgerTemplate = template.Must(template.New("ledger").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{.Unit}} {{.RoomName}} {{.Title}} {{.From}}–{{.Until}}</title>
<style>
@page { size: A4; margin: 18mm 14mm 20mm;
  @bottom-center { content: "第 " counter(page) " 页 共 " counter(pages) " 页"; font-size: 9pt; }
  @top-right { content: "{{.Title}}"; font-size: 8pt; color: #555; } }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Source Han Sans SC", sans-serif; font-size: 10pt; color: #000; margin: 0; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 4mm; }
p.meta { text-align: center; margin: 0 0 4mm; }
table { width: 100%; border-collapse: collapse; }
th, td { border: 1px solid #000; padding: 1.2mm 1.5mm; vertical-align: top; overflow-wrap: anywhere; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
.signatures { margin-top: 10mm; display: flex; gap: 12mm; flex-wrap: wrap; }
.foot { margin-top: 6mm; font-size: 8pt; color: #333; overflow-wrap: anywhere; }
@media screen { body { max-width: 190mm; margin: 10mm auto; } .noprint { margin: 4mm 0; } }
@media print { .noprint { display: none; } }
</style></head><body>
<h1 id="ledger-title">{{with .Unit}}{{.}} {{end}}{{.RoomName}} {{.Title}}</h1>
<p class="meta" id="ledger-period">期间：{{.From}} 至 {{.Until}} · 制表：{{.By}} {{.Generated}}</p>
<p class="noprint"><button type="button" onclick="window.print()">打印</button></p>
<table id="ledger"><thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{else}}<tr><td colspan="{{len .Columns}}">本期无记录</td></tr>{{end}}</tbody></table>
<div class="signatures">{{range .Signatures}}<span>{{.}}（签字）：＿＿＿＿＿＿＿＿</span>{{end}}<span>日期：＿＿＿＿＿＿</span></div>
<div class="foot" id="ledger-chain">{{range .Chain}}<p>{{.}}</p>{{else}}<p>日志：本期无签名检查点</p>{{end}}</div>
</body></html>
`))

// printPDF makes a PDF of page with headless Chromium (the console's
// machine has it: the dashboard's package recommends it, make test
// installs it).
func (s *Server) printPDF(ctx context.Context, page []byte) ([]byte, error) {
	bin := os.Getenv("ROOMGUARD_CHROMIUM")
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if bin != "" {
			break
		}
		if path, err := exec.LookPath(p); err == nil {
			bin = path
		}
	}
	if bin == "" {
		return nil, errors.New("no Chromium on the console's machine to make the PDF (apt install chromium); print from the browser instead")
	}
	dir, err := os.MkdirTemp("", "roomguard-pdf-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			s.Log.Warn("a PDF's temporary directory not removed", "dir", dir, "err", err)
		}
	}()
	src, out := filepath.Join(dir, "ledger.html"), filepath.Join(dir, "ledger.pdf")
	if err := os.WriteFile(src, page, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--print-to-pdf="+out, "file://"+src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("chromium could not make the PDF: %v: %s", err, bytes.TrimSpace(b))
	}
	return os.ReadFile(out)
}
