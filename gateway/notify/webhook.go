package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook is where a person (often a group) is posted to: a group robot of
// WeCom (企业微信), DingTalk (钉钉) or Feishu (飞书) in their documented
// formats, with their signing where they have one, or a generic JSON post
// signed with HMAC-SHA256.
type Webhook struct {
	Kind   string // wecom, dingtalk, feishu, generic
	URL    string
	Secret string // dingtalk and feishu signing; generic: the HMAC key
}

// Hooks is the webhook channel.
type Hooks struct {
	Client *http.Client // default: 10 s timeout
	Now    func() time.Time
	Room   string
}

// Send implements Channel.
func (h Hooks) Send(ctx context.Context, p Person, message string) error {
	w := p.Webhook
	if w == nil || w.URL == "" {
		return fmt.Errorf("notify: %s has no webhook", p.ID)
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	target := w.URL
	var body any
	header := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	switch w.Kind {
	case "wecom":
		body = map[string]any{"msgtype": "text", "text": map[string]any{"content": message}}
	case "dingtalk":
		body = map[string]any{"msgtype": "text", "text": map[string]any{"content": message}}
		if w.Secret != "" { // timestamp in ms and its HMAC, on the URL
			ts := strconv.FormatInt(now().UnixMilli(), 10)
			mac := hmac.New(sha256.New, []byte(w.Secret))
			mac.Write([]byte(ts + "\n" + w.Secret))
			u, err := url.Parse(target)
			if err != nil {
				return fmt.Errorf("notify: webhook of %s: %w", p.ID, err)
			}
			q := u.Query()
			q.Set("timestamp", ts)
			q.Set("sign", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
			u.RawQuery = q.Encode()
			target = u.String()
		}
	case "feishu":
		m := map[string]any{"msg_type": "text", "content": map[string]any{"text": message}}
		if w.Secret != "" { // timestamp in s; the HMAC keyed by "timestamp\nsecret" over nothing
			ts := strconv.FormatInt(now().Unix(), 10)
			mac := hmac.New(sha256.New, []byte(ts+"\n"+w.Secret))
			m["timestamp"], m["sign"] = ts, base64.StdEncoding.EncodeToString(mac.Sum(nil))
		}
		body = m
	case "generic":
		body = map[string]any{"room": h.Room, "person": p.ID, "message": message, "sent": now().UTC().Format(time.RFC3339)}
	default:
		return fmt.Errorf("notify: webhook kind %q (want wecom, dingtalk, feishu or generic)", w.Kind)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	if w.Kind == "generic" && w.Secret != "" {
		mac := hmac.New(sha256.New, []byte(w.Secret))
		mac.Write(b)
		header.Set("X-Roomguard-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("notify: webhook of %s: %w", p.ID, err)
	}
	req.Header = header
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("notify: webhook of %s: %w", p.ID, err)
	}
	reply, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if cerr := res.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("notify: webhook of %s: %w", p.ID, err)
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("notify: webhook of %s: HTTP %d: %.200s", p.ID, res.StatusCode, reply)
	}
	if w.Kind == "generic" {
		return nil
	}
	// The robots answer 200 with their own code: errcode (WeCom, DingTalk)
	// or code (Feishu), 0 when posted.
	var r struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
		Code    *int   `json:"code"`
		Msg     string `json:"msg"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		return fmt.Errorf("notify: webhook of %s: an answer that is not the robot's: %.200s", p.ID, reply)
	}
	switch {
	case r.ErrCode != nil && *r.ErrCode != 0:
		return fmt.Errorf("notify: webhook of %s: refused: %d %s", p.ID, *r.ErrCode, r.ErrMsg)
	case r.Code != nil && *r.Code != 0:
		return fmt.Errorf("notify: webhook of %s: refused: %d %s", p.ID, *r.Code, r.Msg)
	case r.ErrCode == nil && r.Code == nil:
		return fmt.Errorf("notify: webhook of %s: an answer without a code: %.200s", p.ID, reply)
	}
	return nil
}
