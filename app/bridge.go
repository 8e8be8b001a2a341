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
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/gateway"
	"github.com/heraldhq/herald/internal/rawconn"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/metrics"
	"github.com/heraldhq/herald/server"
)

// upstreamQueueFactor is how many times a browser's queue length a
// bridge's upstream streams may queue between their gRPC reader and the
// reader that fans them out.
const upstreamQueueFactor = 4

// Keepalive of a bridge's connection to its upstream: a ping after this
// long without traffic while streams are open, and the connection is
// dropped (its streams end, their browsers reconnect) when the ping is not
// answered in time. The ping interval respects the upstream's default
// enforcement policy (server.DefaultKeepalive: pings at most every 5s).
const (
	upstreamKeepaliveTime    = 30 * time.Second
	upstreamKeepaliveTimeout = 10 * time.Second
)

// BridgeConfig configures a bridge: the HTTP side of a node (browser
// transports, the HTTP API, health, metrics, the demo page) without an
// engine, relaying the subscriptions and publishes of an upstream Herald
// over gRPC. Every zero field means its default, as in Config.
type BridgeConfig struct {
	// Upstream is the gRPC address (host:port) of the Herald to relay.
	// Required.
	Upstream string
	// HTTPAddr is the HTTP listen address. Default ":8080".
	HTTPAddr string
	// HeartbeatInterval is the idle time after which a browser stream
	// gets a heartbeat. Default 15s.
	HeartbeatInterval time.Duration
	// MaxMessageSize is the largest payload in bytes, for publishes
	// forwarded upstream and messages received from it. It should equal
	// the upstream's. Default 1 MiB.
	MaxMessageSize int
	// AllowedOrigins lists the browser origins allowed cross-origin
	// access, as in Config.
	AllowedOrigins []string
	// QueueLen is how many messages a browser may fall behind before it
	// is disconnected as a slow consumer. Default 1024.
	QueueLen int
	// ShutdownTimeout bounds the shutdown that RunBridge performs.
	// Default 10s.
	ShutdownTimeout time.Duration
	// Browser holds the settings of the browser transports.
	Browser BrowserConfig
	// Auth says which credentials the bridge accepts from its clients, as
	// in Config: on /v1/sse and /v1/ws, and on the HTTP API, where a
	// request without a valid credential is refused before it is relayed.
	// The HTTP API relays each client's own credential, which the upstream
	// checks again, so give the bridge the upstream's keys.
	Auth auth.Config
	// Limits bounds the bridge's own clients, as in Config, on every
	// transport, the relayed HTTP API included.
	Limits limits.Config
	// TLS, when set, serves the HTTP port as HTTPS, as in Config.
	TLS TLSConfig
	// MaxHeaderBytes bounds the headers of an HTTP request, as in Config.
	// Default 64 KiB.
	MaxHeaderBytes int
	// UpstreamToken is the credential the bridge presents to the upstream
	// ("authorization: Bearer …") for the subscriptions it makes on behalf
	// of its browsers. It needs subscribe rights on every topic they may
	// ask for. The calls its HTTP API relays carry it too, as the relay
	// credential (server.RelayAuthorizationHeader) beside each client's
	// own: when it is an API key with "relay": true, the upstream then
	// believes the client address the bridge names and applies its
	// per-address and per-connection limits to each client rather than to
	// the bridge as a whole. Empty: none.
	UpstreamToken string
	// UpstreamTLS connects to the upstream over TLS, trusting the system's
	// certificate authorities or those of UpstreamCAFile.
	UpstreamTLS bool
	// UpstreamCAFile is a PEM file of the certificate authorities that
	// sign the upstream's certificate; setting it implies UpstreamTLS.
	UpstreamCAFile string
	// Logger receives the bridge's logs. Nil discards them.
	Logger *slog.Logger
	// DialOptions are added to those of the upstream connection.
	DialOptions []grpc.DialOption
}

// withDefaults checks c and returns it with every zero field replaced by
// its default.
func (c BridgeConfig) withDefaults() (BridgeConfig, error) {
	if c.Upstream == "" {
		return c, fmt.Errorf("%w: no upstream address", ErrInvalidConfig)
	}
	if err := checkNotNegative(
		setting{"HeartbeatInterval", int64(c.HeartbeatInterval)},
		setting{"MaxMessageSize", int64(c.MaxMessageSize)},
		setting{"QueueLen", int64(c.QueueLen)},
		setting{"ShutdownTimeout", int64(c.ShutdownTimeout)},
		setting{"MaxHeaderBytes", int64(c.MaxHeaderBytes)},
		setting{"TLS.ReloadInterval", int64(c.TLS.ReloadInterval)},
	); err != nil {
		return c, err
	}
	if err := c.TLS.check(); err != nil {
		return c, err
	}
	orDefault(&c.HTTPAddr, DefaultHTTPAddr)
	orDefault(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	orDefault(&c.MaxMessageSize, DefaultMaxMessageSize)
	orDefault(&c.QueueLen, DefaultQueueLen)
	orDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	orDefault(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	orDefault(&c.Logger, discardLogger)
	var err error
	c.Browser, err = c.Browser.withDefaults()
	return c, err
}

// upstreamTLS reports whether the bridge connects to its upstream over
// TLS: when asked to, or when a CA file is given.
func (c BridgeConfig) upstreamTLS() bool { return c.UpstreamTLS || c.UpstreamCAFile != "" }

// Bridge is a running bridge (see BridgeConfig). It is safe for concurrent
// use; Shutdown may be called more than once.
type Bridge struct {
	cfg BridgeConfig
	servers

	front

	conn   *grpc.ClientConn     // to the upstream
	shared *bridge.SharedSource // one upstream stream per topic set

	ready atomic.Bool

	shutdownOnce sync.Once
	shutdownErr  error
}

// StartBridge builds a bridge from cfg, starts listening on cfg.HTTPAddr
// and serving, and returns once it is listening. The upstream is dialled
// in the background: subscriptions are refused with 503 and /readyz
// answers 503 while it is not connected. ctx bounds the start only. A
// bridge that started must be stopped with Shutdown.
func StartBridge(ctx context.Context, cfg BridgeConfig) (*Bridge, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Bridge{cfg: cfg, servers: newServers(cfg.Logger, 1)}
	if err := b.build(ctx); err != nil {
		b.abandon()
		return nil, err
	}
	b.conn.Connect()
	b.serve("http", b.serveHTTP)
	b.ready.Store(true)
	logAccess(ctx, b.log, cfg.Auth, bridgeOpenModeWarning)
	b.log.LogAttrs(ctx, slog.LevelInfo, "herald bridge started",
		slog.String("http_addr", b.HTTPAddr().String()),
		slog.Bool("tls", cfg.TLS.Enabled()),
		slog.String("upstream", cfg.Upstream),
		slog.Bool("upstream_tls", cfg.upstreamTLS()),
		slog.Bool("upstream_token", cfg.UpstreamToken != ""),
		slog.Duration("heartbeat_interval", cfg.HeartbeatInterval))
	return b, nil
}

// build creates the bridge's parts and its listener.
func (b *Bridge) build(ctx context.Context) error {
	cfg := b.cfg
	sec, err := newSecurity(cfg.Auth, cfg.Limits, cfg.TLS, b.log)
	if err != nil {
		return err
	}
	creds, err := upstreamCredentials(cfg.upstreamTLS(), cfg.UpstreamCAFile)
	if err != nil {
		return err
	}
	if err := b.listenHTTP(ctx, cfg.HTTPAddr, cfg.HeartbeatInterval, b.log); err != nil {
		return err
	}
	if b.conn, err = dialUpstream(cfg.Upstream, cfg.MaxMessageSize, creds, cfg.DialOptions); err != nil {
		return err
	}
	// Browsers subscribing to the same topics share one upstream stream.
	// Its queue is emptied at every pass of the shared stream's reader, but
	// a pass over many browsers takes a while, so it is given more room
	// than a browser's: a burst should end the browsers that cannot keep
	// up, not the stream they share.
	met := metrics.New()
	b.shared = bridge.NewSharedSource(bridge.NewRemoteSource(withToken(b.conn, auth.MetadataKey, cfg.UpstreamToken), bridge.RemoteConfig{
		QueueLen: upstreamQueueFactor * cfg.QueueLen,
		Logger:   b.log.With(slog.String("component", "upstream")),
	}), bridge.SharedConfig{QueueLen: cfg.QueueLen, Metrics: metrics.NewUpstream(met)})
	// The gateway's calls name each client (x-herald-client-addr) and
	// carry the upstream token as the relay credential that makes the
	// upstream believe that name; the bridge applies its own limits to
	// each client too.
	return b.buildHTTP(ctx, withToken(b.conn, server.RelayAuthorizationHeader, cfg.UpstreamToken), gateway.Config{
		MaxMessageSize: cfg.MaxMessageSize,
		Limits:         sec.limits,
		Ready:          b.isReady,
	}, b.shared, frontSettings{
		heartbeat:      cfg.HeartbeatInterval,
		origins:        cfg.AllowedOrigins,
		browser:        cfg.Browser,
		maxHeaderBytes: cfg.MaxHeaderBytes,
		security:       sec,
		logger:         b.log.With(slog.String("component", "http")),
		metrics:        met,
	})
}

// dialUpstream returns a client connection to a Herald's gRPC API, secured
// by creds, that carries messages as large as maxMessageSize, reconnects
// quickly after a loss, and notices a dead connection through keepalive
// pings.
func dialUpstream(target string, maxMessageSize int, creds credentials.TransportCredentials, extra []grpc.DialOption) (*grpc.ClientConn, error) {
	limit := maxMessageSize + server.EnvelopeRoom
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(rawconn.ClientCredentials(creds)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit)),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  100 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   5 * time.Second,
			},
			MinConnectTimeout: 10 * time.Second,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:    upstreamKeepaliveTime,
			Timeout: upstreamKeepaliveTimeout,
		}),
		// Stay connected while no call is open: browsers subscribe at any
		// moment, and readiness reports the connection.
		grpc.WithIdleTimeout(0),
	}, extra...)
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("app: upstream %q: %w", target, err)
	}
	return conn, nil
}

// readyProbeWait bounds how long a readiness probe waits for the upstream
// connection to settle while it is connecting.
const readyProbeWait = time.Second

// isReady is what /readyz reports: serving, with a connection to the
// upstream. A connection that went idle (as gRPC's does after losing its
// transport) is asked to connect, and the probe waits a moment for the
// outcome.
func (b *Bridge) isReady() bool {
	if !b.ready.Load() {
		return false
	}
	st := b.conn.GetState()
	if st == connectivity.Ready {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyProbeWait)
	defer cancel()
	for st == connectivity.Idle || st == connectivity.Connecting {
		if st == connectivity.Idle {
			b.conn.Connect()
		}
		if !b.conn.WaitForStateChange(ctx, st) {
			break
		}
		st = b.conn.GetState()
	}
	return st == connectivity.Ready
}

// abandon releases the parts of a bridge whose start failed.
func (b *Bridge) abandon() {
	b.stopping.Store(true)
	b.abandonHTTP()
	if b.shared != nil {
		b.shared.Close()
	}
	if b.conn != nil {
		_ = b.conn.Close()
	}
}

// HTTPAddr returns the address the bridge listens on, with the actual port
// when the configured one was 0.
func (b *Bridge) HTTPAddr() net.Addr { return b.httpLis.Addr() }

// Shutdown stops the bridge: it reports not ready, ends every browser
// stream with a going-away notice, shuts the HTTP server down and closes
// the upstream connection. ctx bounds the graceful part; once it ends,
// what is still open is closed at once and an error says so. Later calls
// wait for the first and return its result.
func (b *Bridge) Shutdown(ctx context.Context) error {
	b.shutdownOnce.Do(func() { b.shutdownErr = b.shutdown(ctx) })
	return b.shutdownErr
}

func (b *Bridge) shutdown(ctx context.Context) error {
	start := time.Now()
	b.stopping.Store(true)
	b.ready.Store(false)
	var errs []error
	if err := b.browser.shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	b.log.LogAttrs(ctx, slog.LevelInfo, "shutdown: browser streams ended; clients told to reconnect")
	if err := b.stopHTTP(ctx); err != nil {
		errs = append(errs, err)
	}
	b.shared.Close()
	if err := b.conn.Close(); err != nil {
		errs = append(errs, fmt.Errorf("app: upstream connection: %w", err))
	}
	b.serving.Wait()
	b.log.LogAttrs(ctx, slog.LevelInfo, "shutdown complete", slog.Duration("took", time.Since(start)))
	return errors.Join(errs...)
}

// RunBridge starts a bridge, serves until ctx ends or its server fails,
// then shuts it down within cfg.ShutdownTimeout.
func RunBridge(ctx context.Context, cfg BridgeConfig) error {
	b, err := StartBridge(ctx, cfg)
	if err != nil {
		return err
	}
	return b.runUntil(ctx, b.cfg.ShutdownTimeout, b.Shutdown)
}
