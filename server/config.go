package server

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/metrics"
)

// Defaults applied to zero Config fields.
const (
	// DefaultHeartbeatInterval is how long a Subscribe stream may stay
	// silent before the server sends a heartbeat frame.
	DefaultHeartbeatInterval = 15 * time.Second
	// DefaultMaxMessageSize is the largest Publish payload, in bytes.
	DefaultMaxMessageSize = 1 << 20
	// DefaultShutdownTimeout bounds how long Shutdown waits for calls in
	// flight before it closes every connection.
	DefaultShutdownTimeout = 10 * time.Second
	// EnvelopeRoom is what the gRPC message size limits allow beyond
	// MaxMessageSize for the rest of a request or frame: topic, content
	// type, event name, idempotency key, id and timestamps, each at most a
	// few hundred bytes. A payload just over MaxMessageSize therefore still
	// reaches the handler and gets a clear refusal; only a request larger
	// than MaxMessageSize+EnvelopeRoom is refused by gRPC itself.
	EnvelopeRoom = 64 << 10
)

// Config configures a Server. The zero value is ready to use: every zero
// field means the documented default. New copies it; changing a Config
// afterwards has no effect on the Server.
type Config struct {
	// HeartbeatInterval is how long a Subscribe stream may stay idle
	// before the server sends a heartbeat frame. HTTP/2 PINGs do not cross
	// proxies, so this application-level frame is what tells a client
	// behind one that its stream is alive. Zero means 15s.
	HeartbeatInterval time.Duration
	// MaxMessageSize is the largest Publish payload in bytes. The gRPC
	// receive and send limits are this plus EnvelopeRoom. Zero means 1 MiB.
	MaxMessageSize int
	// Keepalive sets the HTTP/2 keepalive parameters and the ping
	// enforcement policy. Zero fields take the values of
	// DefaultKeepalive.
	Keepalive Keepalive
	// QueueLen bounds, in events, how far a subscriber may fall behind
	// before it is closed as a slow consumer. Zero means the engine's
	// default.
	QueueLen int
	// QueueBytes bounds, in payload bytes, how far a subscriber may fall
	// behind before it is closed as a slow consumer. Zero means the
	// engine's default.
	QueueBytes int
	// WriteTimeout bounds one send on a Subscribe stream. A client that
	// keeps its connection open but stops reading fills the HTTP/2 flow
	// control window and the send blocks; when it has been blocked this
	// long the stream ends with RESOURCE_EXHAUSTED as a slow consumer and
	// its resources are freed. Zero means HeartbeatInterval, so a stalled
	// subscriber is noticed within two heartbeat intervals.
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the graceful part of Shutdown: after it, the
	// remaining connections are closed. Zero means 10s.
	ShutdownTimeout time.Duration
	// Auth verifies credentials and decides which topics a client may
	// use. Nil means an open server: everyone may do everything.
	Auth *auth.Authenticator
	// Limits holds the connection, rate and topic limits, shared by every
	// transport of a node. Nil means limits.New with the defaults.
	Limits *limits.Limiter
	// TLS, when set, serves gRPC over TLS with this configuration (its
	// GetCertificate may reload certificates). Connections on an
	// in-process listener (the HTTP gateway's) stay in plain text.
	TLS *tls.Config
	// Logger receives request logs and errors. Nil discards them.
	Logger *slog.Logger
	// Metrics receives the gRPC transport's instruments. Nil means a fresh
	// metrics.New().
	Metrics *metrics.Metrics
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	c.Keepalive = c.Keepalive.withDefaults()
	if c.QueueLen < 0 {
		c.QueueLen = 0
	}
	if c.QueueBytes < 0 {
		c.QueueBytes = 0
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = c.HeartbeatInterval
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New()
	}
	if c.Auth == nil {
		// An empty auth.Config is open and cannot fail.
		c.Auth, _ = auth.New(auth.Config{})
	}
	if c.Limits == nil {
		c.Limits = limits.New(limits.Config{})
	}
	return c
}
