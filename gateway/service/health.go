package service

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Health answers /healthz (the process is alive: its room's locks can be
// taken) and /readyz (it can do its work: the log takes a write, the
// broker session is up, no reader or board is silent) for a person, a load
// balancer and the watchdog alike (issue 32). Ready answers 200 with each
// check, or 503 naming what is wrong.
type Health struct {
	Room interface {
		Alive() error
		Alarms() []*gateway.Alarm
	}
	Log     interface{ Ping() error }
	Session interface {
		State() (epoch uint64, up bool, changed <-chan struct{})
	}
	Logger *slog.Logger // an answer not delivered (the client gone)
}

// deliver writes an answer's body.
func (h *Health) deliver(w http.ResponseWriter, body []byte) {
	if _, err := w.Write(body); err != nil && h.Logger != nil {
		h.Logger.Debug("health answer not delivered", "err", err)
	}
}

// ServeHTTP serves /healthz and /readyz.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		if err := h.Room.Alive(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		h.deliver(w, []byte("ok\n"))
	case "/readyz":
		checks, ready := h.Ready()
		b, err := json.Marshal(map[string]any{"ready": ready, "checks": checks})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		h.deliver(w, append(b, '\n'))
	default:
		http.NotFound(w, r)
	}
}

// Ready runs the readiness checks: each "ok" or what is wrong.
func (h *Health) Ready() (map[string]string, bool) {
	checks := map[string]string{"log": "ok", "broker": "ok", "devices": "ok"}
	done := make(chan error, 1)
	go func() { done <- h.Log.Ping() }()
	select {
	case err := <-done:
		if err != nil {
			checks["log"] = "cannot write: " + err.Error()
		}
	case <-time.After(5 * time.Second):
		checks["log"] = "a write waited more than 5 s"
	}
	if _, up, _ := h.Session.State(); !up {
		checks["broker"] = "the session to the broker is down"
	}
	var silent []string
	for _, a := range h.Room.Alarms() {
		if (a.Class == gateway.AlarmDeviceFault || a.Class == gateway.AlarmBoardSilent) && !a.Restored() {
			silent = append(silent, a.Device)
		}
	}
	if len(silent) > 0 {
		b, _ := json.Marshal(silent) // a list of ids
		checks["devices"] = "not answering: " + string(b)
	}
	ready := true
	for _, c := range checks {
		ready = ready && c == "ok"
	}
	return checks, ready
}
