package service

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roomguard/roomguard/gateway"
)

// Metrics is the gateway's Prometheus metrics (issue 32), read when
// scraped from what the room already keeps: nothing on the commit path.
// Commands refused are counted as they are refused (Refused).
type Metrics struct {
	Room interface {
		Alarms() []*gateway.Alarm
	}
	Log interface {
		Head() (seq uint64, hash string)
		PublishedSeq() (uint64, error)
		CommitLatency() (count uint64, sum float64, cumulative map[float64]uint64)
	}
	Session interface {
		State() (epoch uint64, up bool, changed <-chan struct{})
	}
	Clock gateway.Clock
	// Devices are the room's readers and boards (nil: none to watch).
	Devices interface{ LastHeard() map[string]time.Time }
	// Notifications are the call-down's deliveries (nil: no call-down).
	Notifications interface{ Counts() map[Outcome]uint64 }
	// Storage is the log's filesystem: its size and what is free for the
	// gateway (nil: not told).
	Storage func() (total, free uint64, err error)

	started  time.Time // the wall clock's, as the lines' records
	refused  *prometheus.CounterVec
	reg      *prometheus.Registry
	lagSince time.Time // when the outbox last had nothing to publish
	lastLag  uint64
}

var (
	descLogged = prometheus.NewDesc("roomguard_events_logged", "Events committed to the room's log (its last seq).", nil, nil)
	descPub    = prometheus.NewDesc("roomguard_events_published", "Events the broker confirmed (the outbox cursor).", nil, nil)
	descLag    = prometheus.NewDesc("roomguard_outbox_lag_events", "Events logged and not yet confirmed by the broker.", nil, nil)
	descLagAge = prometheus.NewDesc("roomguard_outbox_lag_seconds", "How long the outbox has not been empty.", nil, nil)
	descUp     = prometheus.NewDesc("roomguard_broker_up", "1 while the session to the broker is up.", nil, nil)
	descEpoch  = prometheus.NewDesc("roomguard_broker_connections_total", "Sessions to the broker opened (reconnects count).", nil, nil)
	descAlarms = prometheus.NewDesc("roomguard_open_alarms", "Open alarms by class and priority.", []string{"class", "priority"}, nil)
	descCommit = prometheus.NewDesc("roomguard_commit_seconds", "The log's commits, from BEGIN to COMMIT's return (its fsync included).", nil, nil)
	descHeard  = prometheus.NewDesc("roomguard_device_last_frame_age_seconds",
		"Since a serial reader's or board's line last brought a byte (since the gateway started when none came yet).", []string{"device"}, nil)
	descDisk   = prometheus.NewDesc("roomguard_storage_size_bytes", "The size of the log's filesystem.", nil, nil)
	descFree   = prometheus.NewDesc("roomguard_storage_free_bytes", "What the log's filesystem has free for the gateway.", nil, nil)
	descNotify = prometheus.NewDesc("roomguard_notifications_total", "The call-down's deliveries, by channel and result.", []string{"channel", "result"}, nil)
)

// NewMetrics builds the metrics of a room; Handler serves them.
func NewMetrics(m Metrics) *Metrics {
	out := &m
	out.started = time.Now()
	out.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "roomguard_commands_refused_total",
		Help: "Commands refused, by code."}, []string{"code"})
	out.reg = prometheus.NewRegistry()
	out.reg.MustRegister(out, out.refused)
	return out
}

// Refused counts a command refused with code.
func (m *Metrics) Refused(code string) { m.refused.WithLabelValues(code).Inc() }

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Describe is prometheus.Collector's.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLogged, descPub, descLag, descLagAge, descUp, descEpoch, descAlarms, descCommit, descHeard, descNotify, descDisk, descFree} {
		ch <- d
	}
}

// Collect is prometheus.Collector's: read now.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	now := m.Clock.Now()
	seq, _ := m.Log.Head()
	pub, err := m.Log.PublishedSeq()
	ch <- prometheus.MustNewConstMetric(descLogged, prometheus.CounterValue, float64(seq))
	if err == nil {
		ch <- prometheus.MustNewConstMetric(descPub, prometheus.CounterValue, float64(pub))
		lag := uint64(0)
		if seq > pub {
			lag = seq - pub
		}
		if lag == 0 || m.lagSince.IsZero() {
			m.lagSince = now
		}
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(lag))
		ch <- prometheus.MustNewConstMetric(descLagAge, prometheus.GaugeValue, now.Sub(m.lagSince).Seconds())
	}
	n, sum, buckets := m.Log.CommitLatency()
	ch <- prometheus.MustNewConstHistogram(descCommit, n, sum, buckets)
	epoch, up, _ := m.Session.State()
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, map[bool]float64{true: 1}[up])
	ch <- prometheus.MustNewConstMetric(descEpoch, prometheus.CounterValue, float64(epoch))
	open := map[[2]string]int{}
	for _, a := range m.Room.Alarms() {
		if !a.Closed() {
			open[[2]string{string(a.Class), strconv.Itoa(a.Priority)}]++
		}
	}
	for k, n := range open {
		ch <- prometheus.MustNewConstMetric(descAlarms, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	if m.Devices != nil {
		for id, at := range m.Devices.LastHeard() {
			if at.IsZero() {
				at = m.started
			}
			ch <- prometheus.MustNewConstMetric(descHeard, prometheus.GaugeValue, time.Since(at).Seconds(), id)
		}
	}
	if m.Storage != nil {
		if total, free, err := m.Storage(); err == nil {
			ch <- prometheus.MustNewConstMetric(descDisk, prometheus.GaugeValue, float64(total))
			ch <- prometheus.MustNewConstMetric(descFree, prometheus.GaugeValue, float64(free))
		}
	}
	if m.Notifications != nil {
		for o, n := range m.Notifications.Counts() {
			ch <- prometheus.MustNewConstMetric(descNotify, prometheus.CounterValue, float64(n), o.Channel, o.Result)
		}
	}
}
