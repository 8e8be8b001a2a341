package server

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/stats"
)

// connStats is a stats.Handler that keeps the connections gauge: up when a
// connection's HTTP/2 handshake completes, down when it closes. Every
// connection of the gRPC server counts under the gRPC transport, including
// the one the HTTP gateway dials (its own clients are counted by the
// gateway). It ignores per-call events. It is safe for concurrent use.
type connStats struct {
	gauge prometheus.Gauge
}

// TagConn returns ctx unchanged.
func (c *connStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

// HandleConn counts connections that begin and end.
func (c *connStats) HandleConn(_ context.Context, s stats.ConnStats) {
	switch s.(type) {
	case *stats.ConnBegin:
		c.gauge.Inc()
	case *stats.ConnEnd:
		c.gauge.Dec()
	}
}

// TagRPC returns ctx unchanged.
func (c *connStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

// HandleRPC ignores per-call events.
func (c *connStats) HandleRPC(context.Context, stats.RPCStats) {}
