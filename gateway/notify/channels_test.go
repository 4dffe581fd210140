package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/roomguard/roomguard/gateway/notify"
	"github.com/roomguard/roomguard/gateway/testenv"
)

const alarmText = "【机要室 301】P1 报警：入侵（ir-safes），11-27 11:12:40。请立即处置，处置后在值班台确认。"

// mailbox is an SMTP server's backend that keeps what it is given.
type mailbox struct {
	mu    sync.Mutex
	mails []string // "from → to: data"
	authd bool
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{m: m}, nil }

type session struct {
	m        *mailbox
	from, to string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "roomguard" || pass != "mail-secret" {
			return errors.New("bad credentials")
		}
		s.m.mu.Lock()
		s.m.authd = true
		s.m.mu.Unlock()
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = to; return nil }
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.m.mu.Lock()
	s.m.mails = append(s.m.mails, s.from+" → "+s.to+": "+string(b))
	s.m.mu.Unlock()
	return err
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// smtpServer is a real SMTP server on loopback, with STARTTLS when tls is set.
func smtpServer(t *testing.T, tc *tls.Config) (string, *mailbox) {
	mb := &mailbox{}
	s := smtp.NewServer(mb)
	s.Domain, s.TLSConfig, s.AllowInsecureAuth = "localhost", tc, false
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String(), mb
}

// Issue 20: the e-mail reaches the SMTP server over STARTTLS, with the
// account, the alarm in its subject and body; a server without STARTTLS
// gets nothing in clear.
func TestEmail(t *testing.T) {
	certs := testenv.NewCerts(t)
	cert, err := tls.LoadX509KeyPair(certs.CertFile, certs.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	addr, mb := smtpServer(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	ca, _ := os.ReadFile(certs.CAFile)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	e := notify.Email{Addr: addr, From: "roomguard@jiyao-301.invalid", Username: "roomguard", Password: "mail-secret",
		TLS: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Send(ctx, notify.Person{ID: "officer", Email: "officer@unit.invalid"}, alarmText); err != nil {
		t.Fatal(err)
	}
	mb.mu.Lock()
	if len(mb.mails) != 1 || !mb.authd || !strings.HasPrefix(mb.mails[0], "roomguard@jiyao-301.invalid → officer@unit.invalid: ") ||
		!strings.Contains(mb.mails[0], alarmText) {
		t.Fatalf("mails %q (authenticated %v)", mb.mails, mb.authd)
	}
	var subject string
	for _, l := range strings.Split(mb.mails[0], "\r\n") {
		if s, ok := strings.CutPrefix(l, "Subject: "); ok {
			subject, _ = new(mime.WordDecoder).DecodeHeader(s)
		}
	}
	mb.mu.Unlock()
	if !strings.HasPrefix(subject, "【机要室 301】P1 报警：入侵") {
		t.Fatalf("subject %q", subject)
	}
	plain, _ := smtpServer(t, nil) // no STARTTLS
	e.Addr = plain
	if err := e.Send(ctx, notify.Person{ID: "officer", Email: "officer@unit.invalid"}, alarmText); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("sent without TLS: %v", err)
	}
}

// Issue 20: each group robot gets its documented format, signed where it
// signs; a robot's refusal and an HTTP error are errors.
func TestWebhooks(t *testing.T) {
	now := time.Unix(1764213160, 0)
	var mu sync.Mutex
	got := map[string]*http.Request{}
	bodies := map[string][]byte{}
	answer := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.Path], bodies[r.URL.Path] = r, b
		a := answer[r.URL.Path]
		mu.Unlock()
		if a == "500" {
			http.Error(w, "boom", 500)
			return
		}
		io.WriteString(w, a)
	}))
	defer srv.Close()
	h := notify.Hooks{Now: func() time.Time { return now }, Room: "jiyao-301"}
	send := func(kind, path, secret, ans string) error {
		mu.Lock()
		answer[path] = ans
		mu.Unlock()
		return h.Send(context.Background(), notify.Person{ID: "group", Webhook: &notify.Webhook{Kind: kind, URL: srv.URL + path + "?key=k1", Secret: secret}}, alarmText)
	}
	if err := send("wecom", "/wecom", "", `{"errcode":0,"errmsg":"ok"}`); err != nil {
		t.Fatal(err)
	}
	var wecom struct {
		Msgtype string
		Text    struct{ Content string }
	}
	json.Unmarshal(bodies["/wecom"], &wecom)
	if wecom.Msgtype != "text" || wecom.Text.Content != alarmText || got["/wecom"].URL.Query().Get("key") != "k1" {
		t.Fatalf("wecom: %s", bodies["/wecom"])
	}
	if err := send("dingtalk", "/ding", "SEC-ding", `{"errcode":0,"errmsg":"ok"}`); err != nil {
		t.Fatal(err)
	}
	q := got["/ding"].URL.Query()
	mac := hmac.New(sha256.New, []byte("SEC-ding"))
	mac.Write([]byte("1764213160000\nSEC-ding"))
	if q.Get("timestamp") != "1764213160000" || q.Get("sign") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) ||
		!strings.Contains(string(bodies["/ding"]), `"msgtype":"text"`) {
		t.Fatalf("dingtalk: %v %s", q, bodies["/ding"])
	}
	if err := send("feishu", "/feishu", "SEC-fs", `{"code":0,"msg":"success"}`); err != nil {
		t.Fatal(err)
	}
	var fs struct {
		MsgType   string `json:"msg_type"`
		Timestamp string
		Sign      string
		Content   struct{ Text string }
	}
	json.Unmarshal(bodies["/feishu"], &fs)
	mac = hmac.New(sha256.New, []byte("1764213160\nSEC-fs"))
	if fs.MsgType != "text" || fs.Content.Text != alarmText || fs.Timestamp != "1764213160" || fs.Sign != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("feishu: %s", bodies["/feishu"])
	}
	if err := send("generic", "/hook", "SEC-gen", ``); err != nil {
		t.Fatal(err)
	}
	mac = hmac.New(sha256.New, []byte("SEC-gen"))
	mac.Write(bodies["/hook"])
	if got["/hook"].Header.Get("X-Roomguard-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) ||
		!strings.Contains(string(bodies["/hook"]), `"room":"jiyao-301"`) {
		t.Fatalf("generic: %v %s", got["/hook"].Header, bodies["/hook"])
	}
	// Refusals: the robot's own code, an HTTP error, an answer that is not a robot's.
	for _, c := range []struct{ kind, ans, want string }{
		{"wecom", `{"errcode":93000,"errmsg":"invalid webhook url"}`, "93000"},
		{"feishu", `{"code":19021,"msg":"sign match fail"}`, "19021"},
		{"dingtalk", "500", "HTTP 500"},
		{"wecom", `<html>`, "not the robot's"},
	} {
		if err := send(c.kind, "/refuse-"+c.kind, "s", c.ans); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s answering %s: %v", c.kind, c.ans, err)
		}
	}
}
