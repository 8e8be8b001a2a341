package metrics

import "github.com/prometheus/client_golang/prometheus"

// Upstream stream kinds, the label values of Upstream.Streams.
const (
	// StreamShared is a stream shared by all of a bridge's subscriptions
	// to one set of topics.
	StreamShared = "shared"
	// StreamCatchUp is a stream that replays history for the
	// subscriptions resuming from one id, until they hand over to a
	// shared one.
	StreamCatchUp = "catch_up"
)

// Upstream is the instruments of a bridge's streams from its upstream.
type Upstream struct {
	// Shared is the number of shared upstream streams open.
	Shared prometheus.Gauge
	// CatchUp is the number of catch-up streams open.
	CatchUp prometheus.Gauge
	// Handovers counts subscriptions that moved from a catch-up stream to
	// a shared one.
	Handovers prometheus.Counter
}

// NewUpstream registers the upstream instruments in m's registry and
// returns them. Call it once per Metrics: only a bridge has them. With a
// nil m the instruments are registered nowhere.
func NewUpstream(m *Metrics) *Upstream {
	streams := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "herald", Name: "upstream_streams",
		Help: "Open Subscribe streams to the upstream: shared by a topic set's subscriptions, or catching up for those resuming from one id.",
	}, []string{"kind"})
	handovers := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "herald", Name: "upstream_handovers_total",
		Help: "Subscriptions that caught up on a catch-up stream and moved to a shared one.",
	})
	if m != nil {
		m.registry.MustRegister(streams, handovers)
	}
	return &Upstream{
		Shared:    streams.WithLabelValues(StreamShared),
		CatchUp:   streams.WithLabelValues(StreamCatchUp),
		Handovers: handovers,
	}
}
