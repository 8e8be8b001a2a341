package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine/memory"
	"github.com/heraldhq/herald/gateway"
	"github.com/heraldhq/herald/metrics"
	"github.com/heraldhq/herald/server"
)

// Node is a running Herald node: an engine, the gRPC server and the HTTP
// gateway, listening on two addresses. It is safe for concurrent use.
type Node struct {
	cfg Config
	servers

	front

	eng        *memory.Engine
	grpcServer *server.Server
	conn       *grpc.ClientConn // the gateway's in-process connection
	grpcLis    net.Listener
	inLis      *bufconn.Listener

	ready atomic.Bool // what /readyz reports

	shutdownOnce sync.Once
	shutdownErr  error
}

// Start builds a node from cfg, starts listening on cfg.GRPCAddr and
// cfg.HTTPAddr and serving on both, and returns once it is listening and
// ready. ctx bounds the start only. A node that started must be stopped
// with Shutdown.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, servers: newServers(cfg.Logger, 3)}
	if err := n.build(ctx); err != nil {
		n.abandon()
		return nil, err
	}

	n.serve("grpc", func() error { return n.grpcServer.Serve(n.grpcLis) })
	n.serve("grpc-in-process", func() error { return n.grpcServer.Serve(n.inLis) })
	n.serve("http", n.serveHTTP)
	n.grpcServer.SetServing()
	n.ready.Store(true)
	logAccess(ctx, n.log, cfg.Auth, openModeWarning)
	n.log.LogAttrs(ctx, slog.LevelInfo, "herald node started",
		slog.String("grpc_addr", n.GRPCAddr().String()),
		slog.String("http_addr", n.HTTPAddr().String()),
		slog.Bool("tls", cfg.TLS.Enabled()),
		slog.Duration("heartbeat_interval", cfg.HeartbeatInterval),
		slog.Int("history_size", cfg.HistorySize),
		slog.Duration("history_ttl", cfg.HistoryTTL),
		slog.Int("max_message_size", cfg.MaxMessageSize))
	return n, nil
}

// build creates the node's parts and listeners. On error, abandon releases
// whatever was made.
func (n *Node) build(ctx context.Context) error {
	cfg := n.cfg
	sec, err := newSecurity(cfg.Auth, cfg.Limits, cfg.TLS, n.log)
	if err != nil {
		return err
	}
	if n.grpcLis, err = listenTCP(ctx, cfg.GRPCAddr); err != nil {
		return fmt.Errorf("app: gRPC address: %w", err)
	}
	if err := n.listenHTTP(ctx, cfg.HTTPAddr, cfg.HeartbeatInterval, n.log); err != nil {
		return err
	}

	m := metrics.New()
	n.eng = memory.New(memory.Options{
		HistorySize: cfg.HistorySize,
		HistoryTTL:  cfg.HistoryTTL,
		QueueLen:    cfg.QueueLen,
	})
	n.grpcServer = server.New(n.eng, server.Config{
		HeartbeatInterval: cfg.HeartbeatInterval,
		MaxMessageSize:    cfg.MaxMessageSize,
		Keepalive:         cfg.Keepalive,
		QueueLen:          cfg.QueueLen,
		WriteTimeout:      cfg.Browser.WriteTimeout,
		ShutdownTimeout:   cfg.ShutdownTimeout,
		Auth:              sec.auth,
		Limits:            sec.limits,
		TLS:               grpcTLS(sec.tls),
		Logger:            n.log.With(slog.String("component", "grpc")),
		Metrics:           m,
	})

	n.inLis = bufconn.Listen(inProcessBuffer)
	if n.conn, err = dialInProcess(n.inLis, cfg.MaxMessageSize); err != nil {
		return fmt.Errorf("app: in-process gRPC client: %w", err)
	}
	src := bridge.NewLocalSource(n.eng, bridge.LocalConfig{QueueLen: cfg.QueueLen})
	return n.buildHTTP(ctx, n.conn, gateway.Config{
		MaxMessageSize: cfg.MaxMessageSize,
		Ready:          n.ready.Load,
	}, src, frontSettings{
		heartbeat:      cfg.HeartbeatInterval,
		origins:        cfg.AllowedOrigins,
		browser:        cfg.Browser,
		maxHeaderBytes: cfg.MaxHeaderBytes,
		security:       sec,
		logger:         n.log.With(slog.String("component", "http")),
		metrics:        m,
	})
}

// abandon releases the parts of a node whose start failed.
func (n *Node) abandon() {
	n.stopping.Store(true)
	n.abandonHTTP()
	if n.conn != nil {
		_ = n.conn.Close()
	}
	if n.grpcServer != nil {
		n.grpcServer.Shutdown(context.Background())
	}
	if n.eng != nil {
		_ = n.eng.Close()
	}
	if n.grpcLis != nil {
		_ = n.grpcLis.Close()
	}
	if n.inLis != nil {
		_ = n.inLis.Close()
	}
}

// GRPCAddr returns the address the gRPC API listens on, with the actual
// port when the configured one was 0.
func (n *Node) GRPCAddr() net.Addr { return n.grpcLis.Addr() }

// HTTPAddr returns the address the HTTP API listens on, with the actual
// port when the configured one was 0.
func (n *Node) HTTPAddr() net.Addr { return n.httpLis.Addr() }

// Shutdown stops the node in the order described in the package
// documentation and returns when everything has stopped. ctx bounds the
// graceful part: once it ends, what is still open is closed at once, and
// Shutdown reports the connections it had to cut. Later calls wait for the
// first and return its result.
func (n *Node) Shutdown(ctx context.Context) error {
	n.shutdownOnce.Do(func() { n.shutdownErr = n.shutdown(ctx) })
	return n.shutdownErr
}

func (n *Node) shutdown(ctx context.Context) error {
	start := time.Now()
	n.stopping.Store(true)
	n.ready.Store(false)
	n.log.LogAttrs(ctx, slog.LevelInfo, "shutdown: not ready")

	// Streams end on every transport at once: gRPC subscribers get
	// UNAVAILABLE, browsers a going-away notice; all are told to reconnect
	// and resume.
	var errs []error
	browserDone := make(chan error, 1)
	go func() { browserDone <- n.browser.shutdown(ctx) }()
	n.grpcServer.Shutdown(ctx)
	n.log.LogAttrs(ctx, slog.LevelInfo, "shutdown: gRPC server stopped; subscribers told to reconnect")
	if err := <-browserDone; err != nil {
		errs = append(errs, err)
	}
	n.log.LogAttrs(ctx, slog.LevelInfo, "shutdown: browser streams ended; clients told to reconnect")

	if err := n.stopHTTP(ctx); err != nil {
		n.log.LogAttrs(ctx, slog.LevelWarn, "shutdown: HTTP server did not finish in time; closing its connections",
			slog.Any("err", err))
		errs = append(errs, err)
	} else {
		n.log.LogAttrs(ctx, slog.LevelInfo, "shutdown: HTTP server stopped")
	}

	if err := n.conn.Close(); err != nil {
		errs = append(errs, fmt.Errorf("app: in-process gRPC client: %w", err))
	}
	n.log.LogAttrs(ctx, slog.LevelInfo, "shutdown: in-process client closed")

	if err := n.eng.Close(); err != nil {
		errs = append(errs, fmt.Errorf("app: engine: %w", err))
	}
	n.log.LogAttrs(ctx, slog.LevelInfo, "shutdown: engine closed")

	n.serving.Wait()
	n.log.LogAttrs(ctx, slog.LevelInfo, "shutdown complete", slog.Duration("took", time.Since(start)))
	return errors.Join(errs...)
}
