package main

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"

	"github.com/roomguard/roomguard/gateway"
)

func sealCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("seal: want list or report")
	}
	fs := newFlags("seal "+args[0], stderr)
	cfg := fs.String("config", defaultConfig, "room config file (for its storage path)")
	db := fs.String("db", "", "event log file (instead of the config's storage path)")
	asHTML := fs.Bool("html", false, "report: a printable HTML page instead of JSON")
	switch args[0] {
	case "list", "report":
	default:
		return usagef("seal: unknown subcommand %q (want list or report)", args[0])
	}
	if err := fs.Parse(args[1:]); err != nil {
		return badUsage(err)
	}
	log, err := openLog(*db, *cfg)
	if err != nil {
		return err
	}
	defer log.Close()
	if args[0] == "list" {
		reports, err := log.SealReports()
		if err != nil {
			return err
		}
		for _, r := range reports {
			fmt.Fprintf(stdout, "%s  unsealed %s  %s\n", r.SealID, r.UnsealedAt.Format(gateway.TimeFormat), r.Verdict)
		}
		return nil
	}
	if fs.NArg() != 1 {
		return usagef("seal report: want one seal id (seal list shows them)")
	}
	r, err := log.SealReport(fs.Arg(0))
	if err != nil {
		return err
	}
	if *asHTML {
		return sealPage.Execute(stdout, r)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// sealPage is the printable seal report (封门检查报告) for the inspection file.
var sealPage = template.Must(template.New("seal").Funcs(template.FuncMap{
	"ts": func(e gateway.Event) string { return e.TS.Format("2006-01-02 15:04:05") },
}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>封门报告 Seal report {{.SealID}}</title>
<style>
body{font-family:"Noto Sans CJK SC","Source Han Sans SC",sans-serif;margin:2em;color:#111}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{border:1px solid #999;padding:.3em .5em;text-align:left;font-size:.9em}
.broken{color:#b00;font-weight:bold}.intact{color:#060;font-weight:bold}.unverified{color:#a60;font-weight:bold}
@media print{body{margin:0}}
</style></head><body>
<h1>节假日封门报告 · Holiday seal report</h1>
<table>
<tr><th>房间 Room</th><td>{{.Room}}</td><th>封门编号 Seal</th><td>{{.SealID}}</td></tr>
<tr><th>封门 Sealed</th><td>{{.SealedAt}}</td><th>封门人 By</th><td>{{range $i, $p := .SealedBy}}{{if $i}}、{{end}}{{$p}}{{end}}</td></tr>
<tr><th>启封 Unsealed</th><td>{{.UnsealedAt}}</td><th>启封人 By</th><td>{{range $i, $p := .UnsealedBy}}{{if $i}}、{{end}}{{$p}}{{end}}</td></tr>
<tr><th>结论 Verdict</th><td colspan="3" class="{{.Verdict}}">{{if eq .Verdict "intact"}}完好 intact{{else if eq .Verdict "unverified"}}无法确认（网关曾停机） unverified (the gateway was down){{else}}被破坏 broken{{end}}</td></tr>
</table>
{{if .Causes}}<h2>判定依据 · Causes</h2>
<ul class="{{.Verdict}}">{{range .Causes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>封门时与启封时 · At sealing and at unsealing</h2>
<table><tr><th>设备 Device</th><th>类型 Kind</th><th>封门时 Sealed</th><th>启封时 Unsealed</th></tr>
{{$after := .UnsealSnapshot}}{{range $i, $d := .SealSnapshot}}<tr><td>{{$d.Device}}</td><td>{{$d.Kind}}</td><td>{{$d.State}}</td><td>{{with index $after $i}}{{.State}}{{end}}</td></tr>
{{end}}</table>
{{if .Differences}}<p class="broken">{{range .Differences}}{{.}}<br>{{end}}</p>{{end}}
<h2>封门期间事件 · Events during the seal ({{len .Events}})</h2>
<table><tr><th>序号 Seq</th><th>时间 Time</th><th>事件 Event</th><th>设备 Device</th><th>人员 Person</th></tr>
{{range .Events}}<tr><td>{{.Seq}}</td><td>{{ts .}}</td><td>{{.Type}}</td><td>{{.Device}}</td><td>{{.Person}}</td></tr>
{{end}}</table>
<p>检查人签字 Inspected by: ____________　日期 Date: ____________</p>
</body></html>
`))
