package sse

import (
	"log/slog"
	"time"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/metrics"
)

// Defaults applied to zero Config fields.
const (
	// DefaultHeartbeatInterval is how long a stream may stay idle before
	// it gets a heartbeat frame.
	DefaultHeartbeatInterval = 15 * time.Second
	// DefaultMinHeartbeat and DefaultMaxHeartbeat bound the interval a
	// client may ask for with the heartbeat query parameter.
	DefaultMinHeartbeat = time.Second
	DefaultMaxHeartbeat = 5 * time.Minute
	// DefaultRetry is the reconnect delay sent in the retry: field.
	DefaultRetry = 2 * time.Second
	// DefaultWriteTimeout bounds each write of a batch of frames.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultCoalesceWindow is the longest a busy stream waits to gather
	// more events into one write (see Config.CoalesceWindow).
	DefaultCoalesceWindow = 10 * time.Millisecond
)

// Config configures a Handler. The zero value is ready to use: every zero
// field means its documented default. New copies it.
type Config struct {
	// HeartbeatInterval is how long a stream may stay idle before it gets
	// a heartbeat frame (a comment and a herald.heartbeat event), unless
	// the client asks for another interval. Zero means 15s.
	HeartbeatInterval time.Duration
	// MinHeartbeat and MaxHeartbeat bound the interval a client may ask
	// for with the heartbeat query parameter; values outside are clamped.
	// Zero means 1s and 5m.
	MinHeartbeat time.Duration
	MaxHeartbeat time.Duration
	// Retry is the reconnect delay sent as the retry: field at the start
	// of every stream. A stream that ends because the server shuts down
	// sends a retry: between Retry and twice Retry, at random, so that
	// its clients do not all reconnect at once. Zero means 2s.
	Retry time.Duration
	// WriteTimeout bounds each write of a batch of frames. A client that
	// stops reading fills its socket; when a write stays blocked this
	// long, the stream ends as a slow consumer and its resources are
	// freed. The deadline is renewed lazily, so a write may be given
	// between half of WriteTimeout and all of it. Zero means 10s.
	WriteTimeout time.Duration
	// CoalesceWindow trades latency for CPU under load. On a busy stream,
	// whose recent events came less than a window and a quarter apart
	// (see bridge.Pace), an event does not wake the writer: it wakes at
	// the end of the window, so that everything that arrived meanwhile
	// goes out in the same write after one wake-up, instead of a write
	// and a wake-up per message. A stream
	// that was quiet writes at once, so isolated messages pay no latency;
	// a busy one at most the window. Zero means DefaultCoalesceWindow;
	// negative disables coalescing; a window longer than
	// bridge.MaxCoalesceWindow is shortened to it.
	CoalesceWindow time.Duration
	// AllowedOrigins lists the browser origins, other than the server's
	// own, that may open a stream: exact origins or origins with one
	// wildcard ("https://*.example.com"), or "*" for any (see
	// bridge.NewOriginPolicy). Requests from other origins are refused
	// with 403. Empty means same-origin only. A request from an origin
	// that only "*" admits may not use the herald_token cookie as its
	// credential.
	AllowedOrigins []string
	// Auth verifies credentials and decides which topics a client may
	// use. Nil means an open server: everyone may do everything.
	Auth *auth.Authenticator
	// Limits holds the connection, rate and topic limits, shared by every
	// transport of a node. Nil means limits.New with the defaults.
	Limits *limits.Limiter
	// Logger receives the handler's logs. Nil discards them.
	Logger *slog.Logger
	// Metrics receives the instruments of the sse transport. Nil means a
	// fresh metrics.New().
	Metrics *metrics.Metrics
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.MinHeartbeat <= 0 {
		c.MinHeartbeat = DefaultMinHeartbeat
	}
	if c.MaxHeartbeat <= 0 {
		c.MaxHeartbeat = DefaultMaxHeartbeat
	}
	if c.MaxHeartbeat < c.MinHeartbeat {
		c.MaxHeartbeat = c.MinHeartbeat
	}
	if c.Retry <= 0 {
		c.Retry = DefaultRetry
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.CoalesceWindow == 0 {
		c.CoalesceWindow = DefaultCoalesceWindow
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New()
	}
	return c
}
