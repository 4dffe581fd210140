package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Commands to a room: signed, sent on roomguard/<room>/cmd/<name>, and
// answered on roomguard/<room>/reply/<id>.

// Call sends a command to a room and waits for its reply. The error is
// either about getting there and back, or the room's refusal (a
// *gateway.Error whose message says why).
func (l *Link) Call(ctx context.Context, room, name string, args map[string]any) (map[string]any, error) {
	id := "dash-" + randomID()
	cmd := map[string]any{}
	for k, v := range args {
		cmd[k] = v
	}
	cmd["id"] = id
	payload, err := l.seal(room, name, cmd)
	if err != nil {
		return nil, err
	}
	ch := make(chan []byte, 1)
	l.mu.Lock()
	l.pending[id] = func(p []byte) {
		select {
		case ch <- p:
		default:
		}
	}
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.pending, id)
		l.mu.Unlock()
	}()
	if !l.Connected() {
		return nil, gateway.Errorf(gateway.EINTERNAL, "the dashboard is not connected to the broker")
	}
	tok := l.client.Publish(wire.Topics{Room: room}.Root()+"/cmd/"+name, 1, false, payload)
	select {
	case <-tok.Done():
		if tok.Error() != nil {
			return nil, fmt.Errorf("send %s to %s: %w", name, room, tok.Error())
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("send %s to %s: %w", name, room, ctx.Err())
	}
	select {
	case p := <-ch:
		var r wire.Reply
		if err := json.Unmarshal(p, &r); err != nil {
			return nil, fmt.Errorf("unreadable reply to %s from %s: %w", name, room, err)
		}
		if err := r.Err(); err != nil {
			code := gateway.ECONFLICT
			if r.Error != nil && r.Error.Code != "" {
				code = r.Error.Code
			}
			ref, _ := err.(*wire.Refusal)
			if ref != nil {
				ref.Room = room
			}
			return r.Result, refused{&gateway.Error{Code: code, Message: err.Error()}, ref}
		}
		return r.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("no reply to %s from room %s (is its gateway online?): %w", name, room, ctx.Err())
	}
}

// seal makes a command's payload: its JSON, signed when the link has a
// signer.
func (l *Link) seal(room, name string, cmd map[string]any) ([]byte, error) {
	payload, err := json.Marshal(cmd)
	if err != nil || l.opts.Signer == nil {
		return payload, err
	}
	return l.opts.Signer.Sign(room, name, payload)
}

func randomID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// refused is a room's refusal of a console's command: its code for the
// console's logic, and the refusal as the room said it, for its words.
type refused struct {
	err *gateway.Error
	ref *wire.Refusal
}

func (e refused) Error() string { return e.err.Error() }

func (e refused) Unwrap() []error {
	if e.ref == nil {
		return []error{e.err}
	}
	return []error{e.err, e.ref}
}
