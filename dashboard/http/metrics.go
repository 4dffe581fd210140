package http

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The console's Prometheus metrics (issue 32), read when scraped: per room
// the replica's lag (events held past a gap: seqs seen but not all held)
// and whether it is online; the live pages connected.
var (
	descReplicaHigh = prometheus.NewDesc("roomguard_console_replica_high", "The highest seq of a room the console holds.", []string{"room"}, nil)
	descReplicaLag  = prometheus.NewDesc("roomguard_console_replica_gap_events", "Seqs of a room seen but not yet held (a gap being filled).", []string{"room"}, nil)
	descRoomOnline  = prometheus.NewDesc("roomguard_console_room_online", "1 while a room says it is online.", []string{"room"}, nil)
	descLive        = prometheus.NewDesc("roomguard_console_live_clients", "Pages following the live stream.", nil, nil)
)

// MetricsHandler serves the console's metrics.
func (s *Server) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(consoleCollector{s})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

type consoleCollector struct{ s *Server }

func (c consoleCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReplicaHigh, descReplicaLag, descRoomOnline, descLive} {
		ch <- d
	}
}

func (c consoleCollector) Collect(ch chan<- prometheus.Metric) {
	views, err := c.s.roomViews("")
	if err == nil {
		for _, v := range views {
			ch <- prometheus.MustNewConstMetric(descReplicaHigh, prometheus.GaugeValue, float64(v.High), v.Room)
			gap := 0.0
			if v.High > v.Through {
				gap = float64(v.High - v.Through)
			}
			ch <- prometheus.MustNewConstMetric(descReplicaLag, prometheus.GaugeValue, gap, v.Room)
			ch <- prometheus.MustNewConstMetric(descRoomOnline, prometheus.GaugeValue, map[bool]float64{true: 1}[v.Online], v.Room)
		}
	}
	n := 0
	if c.s.Hub != nil {
		n = c.s.Hub.clients()
	}
	ch <- prometheus.MustNewConstMetric(descLive, prometheus.GaugeValue, float64(n))
}
