package app

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/bridge/sse"
	"github.com/heraldhq/herald/bridge/ws"
	"github.com/heraldhq/herald/engine/memory"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/server"
)

// ErrInvalidConfig is returned, wrapped, by Start and Run for a Config they
// cannot run.
var ErrInvalidConfig = errors.New("app: invalid config")

// Defaults of a node, used by DefaultConfig and for zero Config fields.
const (
	// DefaultGRPCAddr is where the gRPC API listens.
	DefaultGRPCAddr = ":9090"
	// DefaultHTTPAddr is where the HTTP API, health and metrics listen.
	DefaultHTTPAddr = ":8080"
	// DefaultHeartbeatInterval is the idle time after which a stream gets
	// a heartbeat, on every transport.
	DefaultHeartbeatInterval = server.DefaultHeartbeatInterval
	// DefaultHistorySize is how many messages are retained per topic.
	DefaultHistorySize = memory.DefaultHistorySize
	// DefaultHistoryTTL is how long a message is retained.
	DefaultHistoryTTL = memory.DefaultHistoryTTL
	// DefaultMaxMessageSize is the largest payload, in bytes.
	DefaultMaxMessageSize = server.DefaultMaxMessageSize
	// DefaultQueueLen is how many messages a subscriber may fall behind
	// before it is disconnected as a slow consumer.
	DefaultQueueLen = memory.DefaultQueueLen
	// DefaultShutdownTimeout bounds a graceful shutdown in Run.
	DefaultShutdownTimeout = server.DefaultShutdownTimeout
	// DefaultCoalesceWindow is the browser transports' coalesce window:
	// how long a busy connection's messages wait for more to join them in
	// one write.
	DefaultCoalesceWindow = sse.DefaultCoalesceWindow
	// DefaultWriteTimeout bounds each write to a browser connection; a
	// client that does not take a write within it is disconnected as a
	// slow consumer.
	DefaultWriteTimeout = sse.DefaultWriteTimeout
	// DefaultSSERetry is the reconnect delay Server-Sent Events streams
	// suggest to their clients.
	DefaultSSERetry = sse.DefaultRetry
	// DefaultWSReadLimit is the largest frame a WebSocket client may send.
	DefaultWSReadLimit = ws.DefaultReadLimit
	// DefaultMaxHeaderBytes bounds the headers of an HTTP request, the
	// handshakes of Server-Sent Events and WebSocket included.
	DefaultMaxHeaderBytes = 64 << 10
)

// HTTP server limits. There is no write timeout: subscribe streams are
// long-lived, and their writes are bounded by the handlers themselves.
const (
	// httpReadHeaderTimeout bounds reading a request's headers, so that a
	// client trickling them cannot hold a connection.
	httpReadHeaderTimeout = 10 * time.Second
	// httpIdleTimeout closes keep-alive connections idle this long.
	httpIdleTimeout = 2 * time.Minute
)

// Config configures a node. Every zero field means its default, so the zero
// Config runs a node on the default addresses; DefaultConfig spells the
// defaults out.
type Config struct {
	// GRPCAddr is the gRPC listen address, host:port. Default ":9090".
	// Port 0 picks a free port (see Node.GRPCAddr).
	GRPCAddr string
	// HTTPAddr is the HTTP listen address. Default ":8080".
	HTTPAddr string
	// HeartbeatInterval is the idle time after which a stream gets a
	// heartbeat, on every transport. Default 15s.
	HeartbeatInterval time.Duration
	// HistorySize is how many messages are retained per topic for resuming
	// subscribers. Default 1000.
	HistorySize int
	// HistoryTTL is how long a message is retained. Default 10m.
	HistoryTTL time.Duration
	// MaxMessageSize is the largest payload in bytes, on every transport.
	// Default 1 MiB.
	MaxMessageSize int
	// AllowedOrigins lists the browser origins allowed cross-origin access
	// to the HTTP API ("https://app.example.com", "https://*.example.com",
	// or "*"). Default none.
	AllowedOrigins []string
	// Keepalive holds the gRPC keepalive parameters and ping policy; zero
	// fields take the values of server.DefaultKeepalive.
	Keepalive server.Keepalive
	// QueueLen is how many messages a subscriber may fall behind before it
	// is disconnected as a slow consumer. Default 1024.
	QueueLen int
	// ShutdownTimeout bounds the shutdown that Run performs, and the
	// graceful part of the gRPC server's. Default 10s.
	ShutdownTimeout time.Duration
	// Browser holds the settings of the Server-Sent Events and WebSocket
	// transports.
	Browser BrowserConfig
	// Auth says which credentials the node accepts, on every transport.
	// The zero value configures none: the node is open to everyone and
	// says so loudly at start.
	Auth auth.Config
	// Limits bounds connections, publish and subscribe rates and topics
	// per connection, on every transport; zero fields take the defaults
	// of package limits, negative ones turn a limit off.
	Limits limits.Config
	// TLS, when set, serves gRPC over TLS and the HTTP port as HTTPS.
	TLS TLSConfig
	// MaxHeaderBytes bounds the headers of an HTTP request, the SSE and
	// WebSocket handshakes included. Default 64 KiB.
	MaxHeaderBytes int
	// Logger receives the node's logs. Nil discards them.
	Logger *slog.Logger
}

// BrowserConfig holds the settings of the browser transports, /v1/sse and
// /v1/ws. Every zero field means its default.
type BrowserConfig struct {
	// CoalesceWindow is how long a busy connection's messages wait for
	// more to join them in one write: fewer system calls and wake-ups and
	// less CPU per delivered message, at most this much more latency.
	// Default 10ms; negative turns coalescing off.
	CoalesceWindow time.Duration
	// WriteTimeout bounds each write to a subscriber (browser connections
	// and gRPC Subscribe streams alike); a client that does not take a
	// write within it is disconnected as a slow consumer. Default 10s.
	WriteTimeout time.Duration
	// SSERetry is the reconnect delay Server-Sent Events streams suggest
	// to EventSource (the retry: field). Default 2s.
	SSERetry time.Duration
	// WSReadLimit is the largest frame a WebSocket client may send, in
	// bytes; a larger one closes the connection with 1009. Default 64 KiB.
	WSReadLimit int64
}

// withDefaults checks b and returns it with every zero field replaced by
// its default.
func (b BrowserConfig) withDefaults() (BrowserConfig, error) {
	switch {
	case b.WriteTimeout < 0:
		return b, fmt.Errorf("%w: Browser.WriteTimeout is negative", ErrInvalidConfig)
	case b.SSERetry < 0:
		return b, fmt.Errorf("%w: Browser.SSERetry is negative", ErrInvalidConfig)
	case b.WSReadLimit < 0:
		return b, fmt.Errorf("%w: Browser.WSReadLimit is negative", ErrInvalidConfig)
	case b.CoalesceWindow > bridge.MaxCoalesceWindow:
		return b, fmt.Errorf("%w: Browser.CoalesceWindow %v is longer than %v", ErrInvalidConfig, b.CoalesceWindow, bridge.MaxCoalesceWindow)
	}
	orDefault(&b.CoalesceWindow, DefaultCoalesceWindow)
	orDefault(&b.WriteTimeout, DefaultWriteTimeout)
	orDefault(&b.SSERetry, DefaultSSERetry)
	orDefault(&b.WSReadLimit, DefaultWSReadLimit)
	return b, nil
}

// DefaultConfig returns the configuration of a node with every default
// spelled out (and no logger).
func DefaultConfig() Config {
	return Config{
		GRPCAddr:          DefaultGRPCAddr,
		HTTPAddr:          DefaultHTTPAddr,
		HeartbeatInterval: DefaultHeartbeatInterval,
		HistorySize:       DefaultHistorySize,
		HistoryTTL:        DefaultHistoryTTL,
		MaxMessageSize:    DefaultMaxMessageSize,
		Keepalive:         server.DefaultKeepalive(),
		QueueLen:          DefaultQueueLen,
		ShutdownTimeout:   DefaultShutdownTimeout,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
		Browser: BrowserConfig{
			CoalesceWindow: DefaultCoalesceWindow,
			WriteTimeout:   DefaultWriteTimeout,
			SSERetry:       DefaultSSERetry,
			WSReadLimit:    DefaultWSReadLimit,
		},
	}
}

// withDefaults checks c and returns it with every zero field replaced by
// its default.
func (c Config) withDefaults() (Config, error) {
	if err := checkNotNegative(
		setting{"HeartbeatInterval", int64(c.HeartbeatInterval)},
		setting{"HistorySize", int64(c.HistorySize)},
		setting{"HistoryTTL", int64(c.HistoryTTL)},
		setting{"MaxMessageSize", int64(c.MaxMessageSize)},
		setting{"QueueLen", int64(c.QueueLen)},
		setting{"ShutdownTimeout", int64(c.ShutdownTimeout)},
		setting{"MaxHeaderBytes", int64(c.MaxHeaderBytes)},
		setting{"TLS.ReloadInterval", int64(c.TLS.ReloadInterval)},
		setting{"Keepalive.Time", int64(c.Keepalive.Time)},
		setting{"Keepalive.Timeout", int64(c.Keepalive.Timeout)},
		setting{"Keepalive.MinTime", int64(c.Keepalive.MinTime)},
		setting{"Keepalive.MaxConnectionIdle", int64(c.Keepalive.MaxConnectionIdle)},
		setting{"Keepalive.MaxConnectionAge", int64(c.Keepalive.MaxConnectionAge)},
		setting{"Keepalive.MaxConnectionAgeGrace", int64(c.Keepalive.MaxConnectionAgeGrace)},
	); err != nil {
		return c, err
	}
	orDefault(&c.GRPCAddr, DefaultGRPCAddr)
	orDefault(&c.HTTPAddr, DefaultHTTPAddr)
	orDefault(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	orDefault(&c.HistorySize, DefaultHistorySize)
	orDefault(&c.HistoryTTL, DefaultHistoryTTL)
	orDefault(&c.MaxMessageSize, DefaultMaxMessageSize)
	orDefault(&c.QueueLen, DefaultQueueLen)
	orDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	orDefault(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	orDefault(&c.Logger, discardLogger)
	if err := c.TLS.check(); err != nil {
		return c, err
	}
	var err error
	c.Browser, err = c.Browser.withDefaults()
	return c, err
}

// setting is a numeric setting by name, for checkNotNegative.
type setting struct {
	name string
	val  int64
}

// checkNotNegative refuses the first of settings that is negative.
func checkNotNegative(settings ...setting) error {
	for _, s := range settings {
		if s.val < 0 {
			return fmt.Errorf("%w: %s is negative", ErrInvalidConfig, s.name)
		}
	}
	return nil
}

// orDefault replaces the zero value at v by def.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// discardLogger is the logger of a Config or BridgeConfig without one.
var discardLogger = slog.New(slog.DiscardHandler)
