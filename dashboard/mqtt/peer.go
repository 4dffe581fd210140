package mqtt

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Two consoles on one broker (issue 33, item 4; dashboard/peer.go says
// what they share). Each console speaks under roomguard-console/<name>/:
//
//	status           retained: online (with its journal's head), or its will: offline
//	journal          its journal, signed, QoS 1; live, and again from where a peer asks
//	want/<peer>      a peer's request: the journal from a seq
//	accounts/<user>  retained, signed: each account, from the accounts' primary
//
// What a console says is signed with its key (the one its commands carry),
// which each peer pins (serve --peer NAME=KEY): a journal entry or an
// account another key signed is refused and logged, as is anything from a
// console nobody named.

// PeerRoot is the root of the consoles' own topics.
const PeerRoot = wire.ConsoleRoot

// peerBatch bounds the journal entries sent for one request.
const peerBatch = 500

// PeerOpts configures the link to the peer consoles.
type PeerOpts struct {
	Self  string             // this console's name (its principal)
	Key   ed25519.PrivateKey // what signs what it says
	Peers map[string]ed25519.PublicKey
	URLs  map[string]string // where each peer's console answers (shown when this one is lost)
	// AccountsFrom names the peer that is the accounts' primary; "" : this
	// console is, and publishes them.
	AccountsFrom string
	Store        *sqlite.Store
	Log          *slog.Logger
	Clock        gateway.Clock
	// Changed is told when a peer comes or goes or its journal moves.
	Changed func(dashboard.PeerState)
}

// PeerLink is this console's link to its peers.
type PeerLink struct {
	o      PeerOpts
	client paho.Client
	in     chan paho.Message
	done   chan struct{}
	wg     sync.WaitGroup

	mu        sync.Mutex
	states    map[string]*dashboard.PeerState
	askedTo   map[string]uint64 // the run's: the last seq the latest request covers
	published map[string]uint64 // the run's: each account's revision on the broker
	sent      uint64            // the run's: the journal sent live through here
}

type peerStatus struct {
	State   string    `json:"state"`
	Since   time.Time `json:"since,omitzero"`
	Journal uint64    `json:"journal"`
}

// journalMessage is a journal entry as it travels, with the head of the
// journal when it was sent.
type journalMessage struct {
	dashboard.JournalEntry
	Head uint64 `json:"head"`
}

// The payloads (schemas/console-*.schema.json).

func statusPayload(st peerStatus) []byte {
	b, _ := json.Marshal(st) // plain fields: never fails
	return b
}

func wantPayload(from uint64) []byte {
	b, _ := json.Marshal(map[string]uint64{"from": from})
	return b
}

// journalPayload is entry e of console self's journal, whose head is head,
// signed with key.
func journalPayload(key ed25519.PrivateKey, self string, e dashboard.JournalEntry, head uint64) ([]byte, error) {
	body, err := json.Marshal(journalMessage{JournalEntry: e, Head: max(head, e.Seq)})
	if err != nil {
		return nil, err
	}
	return gateway.Prove(key, signer(self), "journal", e.Seq, gateway.ChainHash(body), body)
}

// accountPayload is account r as console self publishes it, signed with key.
func accountPayload(key ed25519.PrivateKey, self string, r dashboard.AccountRecord) ([]byte, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return gateway.Prove(key, signer(self), "accounts/"+r.Name, r.Rev, gateway.ChainHash(body), body)
}

// NewPeers makes the link to the peer consoles; it rides the room link's
// connection (LinkOpts.Peers), and starts with it.
func NewPeers(o PeerOpts) (*PeerLink, error) {
	if err := gateway.CheckPrincipalName(o.Self); err != nil {
		return nil, fmt.Errorf("peers: this console: %w", err)
	}
	if o.AccountsFrom != "" && o.Peers[o.AccountsFrom] == nil {
		return nil, fmt.Errorf("peers: the accounts' primary %q is not one of the peers", o.AccountsFrom)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	p := &PeerLink{o: o, in: make(chan paho.Message, 4096), done: make(chan struct{}), states: map[string]*dashboard.PeerState{},
		askedTo: map[string]uint64{}, published: map[string]uint64{}}
	for name := range o.Peers {
		if err := gateway.CheckPrincipalName(name); err != nil || name == o.Self {
			return nil, fmt.Errorf("peers: %q is not another console's name", name)
		}
		applied, err := o.Store.PeerApplied(name)
		if err != nil {
			return nil, err
		}
		p.states[name] = &dashboard.PeerState{Name: name, URL: o.URLs[name], Applied: applied, Accounts: name == o.AccountsFrom}
	}
	return p, nil
}

// will is the connection's last will: this console offline.
func (p *PeerLink) will() (string, []byte) {
	return p.topic(p.o.Self, "status"), statusPayload(peerStatus{State: "offline"})
}

func (p *PeerLink) start(c paho.Client) {
	p.client = c
	p.wg.Add(1)
	go p.run()
}

// close says this console is going offline and stops.
func (p *PeerLink) close() {
	if p.client.IsConnected() {
		p.client.Publish(p.topic(p.o.Self, "status"), 1, true, statusPayload(peerStatus{State: "offline", Since: p.o.Clock.Now()})).WaitTimeout(2 * time.Second)
	}
	close(p.done)
	p.wg.Wait()
}

// States is what this console knows of each peer, by name.
func (p *PeerLink) States() []dashboard.PeerState {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]dashboard.PeerState, 0, len(p.states))
	for _, s := range p.states {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b dashboard.PeerState) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// AccountsFrom is the accounts' primary ("" : this console).
func (p *PeerLink) AccountsFrom() string { return p.o.AccountsFrom }

func (p *PeerLink) topic(console, rest string) string { return PeerRoot + "/" + console + "/" + rest }

// signer is the name a console's signature is made under: never a room's.
func signer(console string) string { return "console:" + console }

func (p *PeerLink) onConnect(c paho.Client) {
	queue := func(_ paho.Client, m paho.Message) {
		select {
		case p.in <- m:
		case <-p.done:
		}
	}
	filters := map[string]byte{PeerRoot + "/+/status": 1, PeerRoot + "/+/journal": 1, p.topic(p.o.Self, "want/+"): 1}
	if p.o.AccountsFrom != "" {
		filters[p.topic(p.o.AccountsFrom, "accounts/+")] = 1
	}
	if tok := c.SubscribeMultiple(filters, queue); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		p.o.Log.Error("peers: subscribe", "err", tok.Error())
		return
	}
	// The rest is the run loop's: it owns the journal's cursor.
	select {
	case p.in <- connected{}:
	case <-p.done:
	}
}

// connected is queued to the run loop at each connection.
type connected struct{ paho.Message }

func (p *PeerLink) run() {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case m := <-p.in:
			if _, ok := m.(connected); ok {
				p.connected()
				continue
			}
			p.handle(m.Topic(), m.Payload())
		case <-p.o.Store.Journaled():
			p.sendLive()
		case <-p.o.Store.AccountsChanged():
			p.publishAccounts(false)
		}
	}
}

func (p *PeerLink) connected() {
	head, err := p.o.Store.JournalHead()
	if err != nil {
		p.o.Log.Error("peers: journal", "err", err)
		return
	}
	p.mu.Lock()
	p.sent = head // older entries go to whoever asks
	clear(p.askedTo)
	clear(p.published)
	p.mu.Unlock()
	p.client.Publish(p.topic(p.o.Self, "status"), 1, true, statusPayload(peerStatus{State: "online", Since: p.o.Clock.Now(), Journal: head}))
	p.publishAccounts(true)
	// What a peer said while this console was away is asked for again:
	// its status may be older than its journal.
	for _, s := range p.States() {
		p.ask(s.Name, s.Applied+1)
	}
}

// sendLive publishes what the journal gained since the last sent.
func (p *PeerLink) sendLive() {
	if !p.client.IsConnected() {
		return // the peers ask for it when it is back
	}
	p.mu.Lock()
	from := p.sent + 1
	p.mu.Unlock()
	last, err := p.send(from)
	if err != nil {
		p.o.Log.Error("peers: journal", "err", err)
		return
	}
	p.mu.Lock()
	p.sent = max(p.sent, last)
	p.mu.Unlock()
}

// send publishes the journal from seq from on, at most a batch; it returns
// the last seq sent.
func (p *PeerLink) send(from uint64) (uint64, error) {
	head, err := p.o.Store.JournalHead()
	if err != nil {
		return 0, err
	}
	entries, err := p.o.Store.Journal(from-1, peerBatch)
	if err != nil {
		return 0, err
	}
	last := from - 1
	for _, e := range entries {
		signed, err := journalPayload(p.o.Key, p.o.Self, e, head)
		if err != nil {
			return last, err
		}
		p.client.Publish(p.topic(p.o.Self, "journal"), 1, false, signed)
		last = e.Seq
	}
	return last, nil
}

// publishAccounts publishes, retained, each account kept here at a revision
// not yet on the broker (all: every one, at a connection).
func (p *PeerLink) publishAccounts(all bool) {
	if p.o.AccountsFrom != "" || !p.client.IsConnected() {
		return
	}
	recs, err := p.o.Store.AccountRecords()
	if err != nil {
		p.o.Log.Error("peers: accounts", "err", err)
		return
	}
	for _, r := range recs {
		p.mu.Lock()
		done := !all && p.published[r.Name] >= r.Rev
		p.mu.Unlock()
		if done {
			continue
		}
		topic := "accounts/" + r.Name
		signed, err := accountPayload(p.o.Key, p.o.Self, r)
		if err != nil {
			p.o.Log.Error("peers: accounts", "err", err)
			return
		}
		if tok := p.client.Publish(p.topic(p.o.Self, topic), 1, true, signed); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
			p.mu.Lock()
			p.published[r.Name] = r.Rev
			p.mu.Unlock()
		}
	}
}

// handle takes one message from the broker.
func (p *PeerLink) handle(topic string, payload []byte) {
	rest, ok := strings.CutPrefix(topic, PeerRoot+"/")
	if !ok {
		return
	}
	console, what, _ := strings.Cut(rest, "/")
	if console == p.o.Self {
		if requester, ok := strings.CutPrefix(what, "want/"); ok {
			p.want(requester, payload)
		}
		return
	}
	key := p.o.Peers[console]
	if key == nil {
		p.o.Log.Debug("peers: a console nobody named", "console", console, "topic", topic)
		return
	}
	switch {
	case what == "status":
		p.status(console, payload)
	case what == "journal":
		p.journal(console, key, payload)
	case strings.HasPrefix(what, "accounts/") && console == p.o.AccountsFrom:
		p.account(console, key, what, payload)
	}
}

func (p *PeerLink) want(requester string, payload []byte) {
	if p.o.Peers[requester] == nil {
		p.o.Log.Warn("peers: a request from a console nobody named", "console", requester)
		return
	}
	var w struct {
		From uint64 `json:"from"`
	}
	if err := json.Unmarshal(payload, &w); err != nil || w.From == 0 {
		p.o.Log.Warn("peers: a request that is not one", "console", requester, "err", err)
		return
	}
	if _, err := p.send(w.From); err != nil {
		p.o.Log.Error("peers: journal", "err", err)
	}
}

func (p *PeerLink) status(console string, payload []byte) {
	var st peerStatus
	if len(payload) == 0 || json.Unmarshal(payload, &st) != nil {
		return
	}
	p.mu.Lock()
	s := p.states[console]
	s.Online = st.State == "online"
	s.Since = st.Since
	if s.Since.IsZero() {
		s.Since = p.o.Clock.Now()
	}
	if s.Online {
		s.Head = max(s.Head, st.Journal)
	}
	behind := s.Online && s.Head > s.Applied
	state := *s
	p.mu.Unlock()
	if behind {
		p.ask(console, state.Applied+1)
	}
	p.changed(state)
}

func (p *PeerLink) changed(s dashboard.PeerState) {
	if p.o.Changed != nil {
		p.o.Changed(s)
	}
}

// ask asks console for its journal from seq from.
func (p *PeerLink) ask(console string, from uint64) {
	p.mu.Lock()
	p.askedTo[console] = from + peerBatch - 1
	p.mu.Unlock()
	p.client.Publish(p.topic(console, "want/"+p.o.Self), 1, false, wantPayload(from))
}

func (p *PeerLink) journal(console string, key ed25519.PublicKey, payload []byte) {
	body, proof, err := gateway.OpenProof(key, signer(console), "journal", payload)
	var m journalMessage
	if err == nil {
		err = json.Unmarshal(body, &m)
	}
	if err == nil && (m.Seq != proof.Seq || m.Seq == 0) {
		err = fmt.Errorf("its seq %d is not the one signed (%d)", m.Seq, proof.Seq)
	}
	if err != nil {
		p.o.Log.Warn("peers: a journal entry refused: not signed by the console's pinned key, or not one", "console", console, "err", err)
		return
	}
	p.mu.Lock()
	s := p.states[console]
	s.Head = max(s.Head, m.Head, m.Seq)
	applied := s.Applied
	p.mu.Unlock()
	switch {
	case m.Seq <= applied:
		return // had it
	case m.Seq > applied+1:
		// A gap: ask once for what is missing (again at the next
		// connection or status if the answer is lost).
		p.mu.Lock()
		asked := p.askedTo[console] >= applied+1
		p.mu.Unlock()
		if !asked {
			p.ask(console, applied+1)
		}
		return
	}
	if err := p.o.Store.ApplyJournal(p.o.Self, console, m.JournalEntry); err != nil {
		p.o.Log.Error("peers: a journal entry not taken in", "console", console, "seq", m.Seq, "err", err)
		return
	}
	p.mu.Lock()
	s.Applied = m.Seq
	more := m.Seq < s.Head && m.Seq == p.askedTo[console]
	p.mu.Unlock()
	if more {
		p.ask(console, m.Seq+1)
	}
}

func (p *PeerLink) account(console string, key ed25519.PublicKey, what string, payload []byte) {
	if len(payload) == 0 {
		return
	}
	body, proof, err := gateway.OpenProof(key, signer(console), what, payload)
	var r dashboard.AccountRecord
	if err == nil {
		err = json.Unmarshal(body, &r)
	}
	if err == nil && ("accounts/"+r.Name != what || r.Rev != proof.Seq) {
		err = fmt.Errorf("it names %q at revision %d, signed for %s at %d", r.Name, r.Rev, what, proof.Seq)
	}
	if err == nil {
		_, err = p.o.Store.ApplyAccount(console, r)
	}
	if err != nil {
		p.o.Log.Warn("peers: an account refused", "console", console, "topic", what, "err", err)
	}
}
