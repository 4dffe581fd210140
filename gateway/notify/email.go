package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Email is the email channel: SMTP with STARTTLS required (a mail that
// would go in clear is not sent), and an account when given.
type Email struct {
	Addr     string // host:port of the submission server
	From     string
	Username string
	Password string
	// TLS is the client's TLS (nil: the system's roots, the host's name).
	TLS *tls.Config
}

// Send implements Channel.
func (e Email) Send(ctx context.Context, p Person, message string) (err error) {
	if p.Email == "" {
		return fmt.Errorf("notify: %s has no e-mail address", p.ID)
	}
	host, _, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return fmt.Errorf("notify: smtp server %q: %w", e.Addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return fmt.Errorf("notify: smtp: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			return errors.Join(err, conn.Close())
		}
	} else if err := conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return errors.Join(err, conn.Close())
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return errors.Join(fmt.Errorf("notify: smtp: %w", err), conn.Close())
	}
	defer func() {
		if cerr := c.Close(); err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = fmt.Errorf("notify: smtp: %w", cerr)
		}
	}()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return fmt.Errorf("notify: smtp server %s offers no STARTTLS: not sent in clear", e.Addr)
	}
	tc := e.TLS
	if tc == nil {
		tc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if err := c.StartTLS(tc); err != nil {
		return fmt.Errorf("notify: smtp STARTTLS: %w", err)
	}
	if e.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.Username, e.Password, host)); err != nil {
			return fmt.Errorf("notify: smtp auth: %w", err)
		}
	}
	if err := c.Mail(e.From); err != nil {
		return fmt.Errorf("notify: smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(p.Email); err != nil {
		return fmt.Errorf("notify: smtp RCPT TO %s: %w", p.Email, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("notify: smtp DATA: %w", err)
	}
	subject := message
	if r := []rune(subject); len(r) > 40 {
		subject = string(r[:40]) + "…"
	}
	msg := "From: " + e.From + "\r\nTo: " + p.Email + "\r\nSubject: " + mime.BEncoding.Encode("UTF-8", subject) +
		"\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		strings.ReplaceAll(message, "\n", "\r\n") + "\r\n"
	if _, err := w.Write([]byte(msg)); err != nil {
		return errors.Join(fmt.Errorf("notify: smtp: %w", err), w.Close())
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("notify: smtp: %w", err)
	}
	return c.Quit()
}
