package server

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/heraldhq/herald/engine"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/metrics"
)

// Server is Herald's gRPC server: the herald.v1.PubSubService on an engine,
// the grpc.health.v1 health service, server reflection, keepalive, request
// logging, panic recovery and connection metrics.
//
// A Server is safe for concurrent use. Serve may be called for several
// listeners at once; Shutdown may be called from any goroutine, more than
// once.
type Server struct {
	cfg     Config
	log     *slog.Logger
	eng     engine.Engine
	grpc    *grpc.Server
	health  *health.Server
	service *service

	// mGRPC and mGateway are the instruments of calls that arrive directly
	// and of calls that the HTTP gateway makes on behalf of its clients.
	mGRPC    *metrics.Transport
	mGateway *metrics.Transport

	// stopping is cancelled with errShuttingDown when Shutdown begins; every
	// long-lived stream ends with it.
	stopping context.Context
	stop     context.CancelCauseFunc

	shutdownOnce sync.Once
}

// serviceName is the health service name of the Herald API.
const serviceName = "herald.v1.PubSubService"

// New returns a Server that serves eng. The Server does not own eng: close
// the engine after Shutdown. Health starts NOT_SERVING; call SetServing
// once the process is ready.
//
// Config.Auth and Config.Limits apply to the PubSubService only. The
// health service and server reflection stay open to everyone, without a
// credential and outside the limits: load balancers probe health without
// tokens, and `grpcurl list` needs reflection to discover the API. Neither
// reveals a message or a topic.
func New(eng engine.Engine, cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		eng:      eng,
		health:   health.NewServer(),
		mGRPC:    cfg.Metrics.Transport(metrics.TransportGRPC),
		mGateway: cfg.Metrics.Transport(metrics.TransportGateway),
	}
	s.stopping, s.stop = context.WithCancelCause(context.Background())
	s.service = &service{srv: s}

	limit := cfg.MaxMessageSize + EnvelopeRoom
	opts := []grpc.ServerOption{
		// A publish just over MaxMessageSize still reaches the handler and
		// gets a clear refusal; beyond the envelope room gRPC refuses it
		// with RESOURCE_EXHAUSTED before reading it.
		grpc.MaxRecvMsgSize(limit),
		grpc.MaxSendMsgSize(limit),
		grpc.StatsHandler(&connStats{gauge: s.mGRPC.Connections}),
		grpc.ChainUnaryInterceptor(logUnary(s.log), recoverUnary(s.log)),
		grpc.ChainStreamInterceptor(logStream(s.log), recoverStream(s.log)),
		// Stop and GracefulStop return only once every handler has: after
		// Shutdown nothing uses the engine, so the caller may close it.
		grpc.WaitForHandlers(true),
	}
	opts = append(opts, cfg.Keepalive.serverOptions()...)
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(newServerCreds(cfg.TLS)))
	}
	s.grpc = grpc.NewServer(opts...)

	heraldv1.RegisterPubSubServiceServer(s.grpc, s.service)
	healthgrpc.RegisterHealthServer(s.grpc, &healthService{Server: s.health, srv: s})
	reflection.Register(s.grpc)

	s.health.SetServingStatus("", healthgrpc.HealthCheckResponse_NOT_SERVING)
	s.health.SetServingStatus(serviceName, healthgrpc.HealthCheckResponse_NOT_SERVING)
	return s
}

// Service returns the implementation of herald.v1.PubSubService that the
// Server registers. It ends its streams when the Server shuts down.
func (s *Server) Service() heraldv1.PubSubServiceServer { return s.service }

// GRPC returns the underlying gRPC server. Register further services on it
// before the first Serve.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Serve accepts connections on lis until Shutdown, then returns nil. It may
// be called for several listeners, for example a TCP one and an in-memory
// one for the HTTP gateway; each call blocks until Shutdown. After
// Shutdown it returns grpc.ErrServerStopped.
func (s *Server) Serve(lis net.Listener) error {
	return s.grpc.Serve(lis)
}

// SetServing marks the server and the Herald service SERVING in the health
// service. It has no effect once Shutdown has begun.
func (s *Server) SetServing() {
	s.health.SetServingStatus("", healthgrpc.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(serviceName, healthgrpc.HealthCheckResponse_SERVING)
}

// Shutdown stops the server: health goes NOT_SERVING for good, every
// Subscribe stream (and health Watch) ends with UNAVAILABLE ("server is
// shutting down; reconnect and resume from your last id"), listeners close,
// and calls in flight may finish until ctx ends or ShutdownTimeout passes,
// whichever comes first; then every remaining connection is closed. Serve
// calls return. Shutdown returns when the server has stopped and every
// handler has returned, so the engine may be closed next. Further calls
// return at once (concurrent ones wait for the first).
func (s *Server) Shutdown(ctx context.Context) {
	s.shutdownOnce.Do(func() {
		s.log.LogAttrs(ctx, slog.LevelInfo, "grpc server shutting down",
			slog.Duration("timeout", s.cfg.ShutdownTimeout))
		s.health.Shutdown()
		s.stop(errShuttingDown)

		done := make(chan struct{})
		go func() {
			s.grpc.GracefulStop()
			close(done)
		}()
		timer := time.NewTimer(s.cfg.ShutdownTimeout)
		defer timer.Stop()
		select {
		case <-done:
			return
		case <-ctx.Done():
		case <-timer.C:
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "grpc graceful stop timed out; closing remaining connections")
		s.grpc.Stop()
		<-done
	})
}

// transport returns the instruments for a call: the gateway's when the
// HTTP gateway made it, otherwise gRPC's.
func (s *Server) transport(ctx context.Context) *metrics.Transport {
	if isGateway(ctx) {
		return s.mGateway
	}
	return s.mGRPC
}
