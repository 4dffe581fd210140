package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
)

// Hub hands what the replica takes to every live browser.
type Hub struct {
	mu   sync.Mutex
	subs map[chan liveMsg]struct{}
}

type liveMsg struct {
	n    int64 // replica arrival number (events); 0 for a state change
	name string
	data []byte
}

// clients counts the pages following the stream.
func (h *Hub) clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// NewHub makes an empty hub.
func NewHub() *Hub { return &Hub{subs: map[chan liveMsg]struct{}{}} }

// subscriber buffer: a browser this far behind is dropped and, reconnecting
// with Last-Event-ID, replays from the replica.
const subBuffer = 1024

func (h *Hub) subscribe() chan liveMsg {
	ch := make(chan liveMsg, subBuffer)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch
}

func (h *Hub) unsubscribe(ch chan liveMsg) {
	h.mu.Lock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
	h.mu.Unlock()
}

func (h *Hub) send(m liveMsg) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- m:
		default: // too slow: drop it; it will reconnect and replay
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// liveEvent is what a browser gets of an event.
type liveEvent struct {
	N        int64           `json:"n"`
	Room     string          `json:"room"`
	Seq      uint64          `json:"seq"`
	Type     string          `json:"type"`
	Severity string          `json:"severity"`
	TS       string          `json:"ts"`
	Device   string          `json:"device,omitempty"`
	Person   string          `json:"person,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
}

func liveOf(r dashboard.Record) liveMsg {
	b, _ := json.Marshal(liveEvent{N: r.N, Room: r.Room, Seq: r.Seq, Type: r.Type, Severity: string(r.Severity),
		TS: r.TS.Format("2006-01-02 15:04:05"), Device: r.Device, Person: r.Person, Data: r.Data})
	return liveMsg{n: r.N, name: "event", data: b}
}

// Stored passes new replica records to the browsers.
func (h *Hub) Stored(recs []dashboard.Record) {
	for _, r := range recs {
		h.send(liveOf(r))
	}
}

// State tells the browsers that a room's state changed.
func (h *Hub) State(r dashboard.Retained) {
	b, _ := json.Marshal(map[string]string{"room": r.Room, "kind": r.Kind, "key": r.Key})
	h.send(liveMsg{name: "state", data: b})
}

// Peer tells the live pages that a peer console came or went.
func (h *Hub) Peer(p dashboard.PeerState) {
	b, _ := json.Marshal(map[string]string{"console": p.Name})
	h.send(liveMsg{name: "state", data: b})
}

// replayMax bounds a reconnect's replay; a browser further behind reloads.
const replayMax = 2000

// live is the server-sent event stream. A browser that reconnects sends
// Last-Event-ID and gets every event it missed, from the replica.
func (s *Server) live(w http.ResponseWriter, r *request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := s.Hub.subscribe()
	defer s.Hub.unsubscribe(ch)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var last int64
	switch id, after := r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after"); {
	case id != "": // a reconnect: replay from where it stopped
		last, _ = strconv.ParseInt(id, 10, 64)
	case after != "": // a page: it shows everything up to what it was rendered with
		last, _ = strconv.ParseInt(after, 10, 64)
	default:
		last, _ = s.Store.LastN()
	}
	fmt.Fprintf(w, "retry: 1000\n\n")
	// A state that changed after the page read it and before this stream
	// subscribed reached nobody: the page refreshes once. (Events are
	// replayed below from the page's last N.)
	if v, err := strconv.ParseInt(r.URL.Query().Get("state"), 10, 64); err == nil && s.Store.RetainedVersion() > v {
		fmt.Fprintf(w, "event: state\ndata: {}\n\n")
	}
	missed, err := s.Store.Events(sqlite.EventFilter{AfterN: last, Limit: replayMax + 1})
	if err != nil {
		s.Log.Error("live: replay", "err", err)
		return
	}
	if len(missed) > replayMax {
		fmt.Fprintf(w, "event: reload\ndata: {}\n\n")
		fl.Flush()
		return
	}
	for _, rec := range missed {
		writeLive(w, liveOf(rec))
		last = rec.N
	}
	fl.Flush()
	every := s.LiveBeat
	if every <= 0 {
		every = 15 * time.Second
	}
	beat := time.NewTicker(every) // keeps proxies and idle timeouts from closing the stream
	defer beat.Stop()
	for {
		select {
		case m, open := <-ch:
			for queued := open; queued; { // write what else is queued too, then flush once
				if m.n == 0 || m.n > last { // an event already replayed is skipped
					writeLive(w, m)
					last = max(last, m.n)
				}
				select {
				case m, open = <-ch:
					queued = open
				default:
					queued = false
				}
			}
			fl.Flush()
			if !open {
				return // dropped for being slow: the browser reconnects
			}
		case <-beat.C:
			// The stream lives no longer than its session: logged out,
			// expired or its account disabled, the page is told to reload
			// (to the login) and gets nothing more.
			if !s.stillValid(r) {
				fmt.Fprintf(w, "event: reload\ndata: {}\n\n")
				fl.Flush()
				return
			}
			fmt.Fprintf(w, ": beat\n\n")
			fl.Flush()
		case <-r.Context().Done():
			return
		}
	}
}

func writeLive(w http.ResponseWriter, m liveMsg) {
	if m.n != 0 {
		fmt.Fprintf(w, "id: %d\n", m.n)
	}
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.name, m.data)
}

// stillValid tells whether the request's session still holds: not logged
// out, not expired, its account enabled.
func (s *Server) stillValid(r *request) bool {
	if r.Session == nil {
		return false
	}
	se, err := s.Store.Session(r.Session.ID)
	if err != nil || se.Expired(s.Clock.Now(), s.idle()) {
		return false
	}
	u, err := s.Store.User(se.User)
	return err == nil && !u.Disabled
}
