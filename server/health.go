package server

import (
	"context"
	"errors"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// healthService is grpc's health server with one change: Watch streams end
// with UNAVAILABLE when the Server shuts down, right after they have told
// their client NOT_SERVING. grpc's Watch only ends when its client leaves,
// so an open Watch (a load balancer's, say) would otherwise hold
// GracefulStop until the shutdown timeout.
type healthService struct {
	*health.Server
	srv *Server
}

// Watch streams the serving status of a service until the client leaves or
// the server shuts down.
func (h *healthService) Watch(req *healthgrpc.HealthCheckRequest, stream healthgrpc.Health_WatchServer) error {
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	w := &watchStream{Health_WatchServer: stream, ctx: ctx, cancel: cancel, last: -1}
	stop := context.AfterFunc(h.srv.stopping, w.shutdown)
	defer stop()
	err := h.Server.Watch(req, w)
	if errors.Is(context.Cause(ctx), errShuttingDown) {
		return status.Error(codes.Unavailable, "server is shutting down")
	}
	return err
}

// watchStream is a Watch stream that ends on shutdown once its client
// knows the service is NOT_SERVING. Shutdown sets every known service
// NOT_SERVING before it ends the streams, so a stream that last sent
// SERVING is about to send NOT_SERVING and ends after that send; any other
// stream ends at once. Send runs on the Watch goroutine, shutdown on
// another; mu guards last and stopping.
type watchStream struct {
	healthgrpc.Health_WatchServer
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	last     healthgrpc.HealthCheckResponse_ServingStatus // -1 before the first send
	stopping bool
}

// Context returns the stream's context, which also ends on shutdown.
func (w *watchStream) Context() context.Context { return w.ctx }

// Send sends a status and ends the stream if the server is shutting down
// and the client now knows it is not served.
func (w *watchStream) Send(res *healthgrpc.HealthCheckResponse) error {
	err := w.Health_WatchServer.Send(res)
	w.mu.Lock()
	w.last = res.GetStatus()
	end := w.stopping && w.last != healthgrpc.HealthCheckResponse_SERVING
	w.mu.Unlock()
	if end {
		w.cancel(errShuttingDown)
	}
	return err
}

func (w *watchStream) shutdown() {
	w.mu.Lock()
	w.stopping = true
	end := w.last != healthgrpc.HealthCheckResponse_SERVING
	w.mu.Unlock()
	if end {
		w.cancel(errShuttingDown)
	}
}
