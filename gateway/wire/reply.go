package wire

import (
	"fmt"

	"github.com/roomguard/roomguard/gateway"
)

// Reply is the payload of roomguard/<room>/reply/<id>.
type Reply struct {
	ID     string         `json:"id"`
	Cmd    string         `json:"cmd"`
	Status string         `json:"status"`
	Error  *ReplyError    `json:"error,omitempty"`
	Result map[string]any `json:"result,omitempty"`
}

// ReplyError says why a command was not carried out.
type ReplyError struct {
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Reasons []gateway.Reason `json:"reasons,omitempty"`
}

// Err is the refusal a reply carries, or nil when the command was done.
func (r Reply) Err() error {
	if r.Status == "ok" {
		return nil
	}
	if r.Error == nil {
		return fmt.Errorf("%s: status %q", r.Cmd, r.Status)
	}
	return &Refusal{Cmd: r.Cmd, Code: r.Error.Code, Message: r.Error.Message, Reasons: r.Error.Reasons}
}

// Refusal is a room's refusal of a command, as its reply says it: a console
// says it in its reader's words (the code, the reasons), the message as the
// room wrote it.
type Refusal struct {
	Room               string // set by whoever knows it (the caller's)
	Cmd, Code, Message string
	Reasons            []gateway.Reason
}

func (r *Refusal) Error() string {
	msg := fmt.Sprintf("%s refused (%s): %s", r.Cmd, r.Code, r.Message)
	for _, reason := range r.Reasons {
		msg += "\n  " + reason.Code
		if reason.Device != "" {
			msg += " " + reason.Device
		}
		msg += ": " + reason.Detail
	}
	return msg
}
