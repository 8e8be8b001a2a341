// Package metrics holds Herald's Prometheus instruments. One *Metrics is
// created per server and handed to every transport; it owns its registry
// (never the global default one), so several servers can run in one process,
// as tests do. All methods are safe for concurrent use.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Transport label values.
const (
	TransportGRPC    = "grpc"    // gRPC Subscribe streams and Publish calls
	TransportGateway = "gateway" // HTTP/JSON through grpc-gateway and raw publish
	TransportSSE     = "sse"     // Server-Sent Events
	TransportWS      = "ws"      // WebSocket
)

// Metrics is the set of instruments of one Herald server.
type Metrics struct {
	registry *prometheus.Registry

	// Connections is the number of open client connections, by transport.
	Connections *prometheus.GaugeVec
	// Subscriptions is the number of active subscriptions, by transport.
	Subscriptions *prometheus.GaugeVec
	// Published counts accepted messages, by transport they arrived on
	// (duplicates of an idempotency key are not counted).
	Published *prometheus.CounterVec
	// Delivered counts messages sent to subscribers, by transport.
	Delivered *prometheus.CounterVec
	// SlowConsumers counts subscriptions closed because their queue
	// overflowed, by transport.
	SlowConsumers *prometheus.CounterVec
	// Latency observes the time from a message's acceptance to its send to
	// a subscriber, in seconds, by transport.
	Latency *prometheus.HistogramVec
	// Refused counts requests refused for bad input or limits, by transport
	// and reason (invalid_argument, too_large, ...).
	Refused *prometheus.CounterVec
}

// New returns a fresh set of instruments registered, together with the Go
// runtime and process collectors, in a registry of its own.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		Connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "herald", Name: "connections",
			Help: "Open client connections, by transport.",
		}, []string{"transport"}),
		Subscriptions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "herald", Name: "subscriptions",
			Help: "Active subscriptions, by transport.",
		}, []string{"transport"}),
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "herald", Name: "messages_published_total",
			Help: "Messages accepted for publishing, by the transport they arrived on.",
		}, []string{"transport"}),
		Delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "herald", Name: "messages_delivered_total",
			Help: "Messages sent to subscribers, by transport.",
		}, []string{"transport"}),
		SlowConsumers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "herald", Name: "slow_consumer_closes_total",
			Help: "Subscriptions closed because the subscriber read too slowly, by transport.",
		}, []string{"transport"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "herald", Name: "delivery_latency_seconds",
			Help:    "Time from a message's acceptance to its send to a subscriber, by transport.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"transport"}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "herald", Name: "requests_refused_total",
			Help: "Requests refused for bad input or limits, by transport and reason.",
		}, []string{"transport", "reason"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Connections, m.Subscriptions, m.Published, m.Delivered,
		m.SlowConsumers, m.Latency, m.Refused,
	)
	return m
}

// Registry returns the registry the instruments live in, for tests and for
// registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Transport is the instruments of one transport, with labels resolved once
// so hot paths pay no label lookup.
type Transport struct {
	Connections   prometheus.Gauge
	Subscriptions prometheus.Gauge
	Published     prometheus.Counter
	Delivered     prometheus.Counter
	SlowConsumers prometheus.Counter
	Latency       prometheus.Observer
	refused       *prometheus.CounterVec
}

// Transport returns the instruments labelled with the transport name (one
// of the Transport* constants).
func (m *Metrics) Transport(name string) *Transport {
	return &Transport{
		Connections:   m.Connections.WithLabelValues(name),
		Subscriptions: m.Subscriptions.WithLabelValues(name),
		Published:     m.Published.WithLabelValues(name),
		Delivered:     m.Delivered.WithLabelValues(name),
		SlowConsumers: m.SlowConsumers.WithLabelValues(name),
		Latency:       m.Latency.WithLabelValues(name),
		refused:       m.Refused.MustCurryWith(prometheus.Labels{"transport": name}),
	}
}

// ObserveDelivery counts one message delivered, accepted at published and
// sent at now.
func (t *Transport) ObserveDelivery(published, now time.Time) {
	t.Delivered.Inc()
	t.Latency.Observe(now.Sub(published).Seconds())
}

// Refuse counts one refused request with a short snake_case reason
// (invalid_argument, too_large, ...).
func (t *Transport) Refuse(reason string) {
	t.refused.WithLabelValues(reason).Inc()
}
