package ws

import (
	"log/slog"
	"time"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/metrics"
)

// Defaults applied to zero Config fields.
const (
	// DefaultHeartbeatInterval is how often a connection is pinged, and how
	// long it may stay silent before it gets a heartbeat frame.
	DefaultHeartbeatInterval = 15 * time.Second
	// DefaultWriteTimeout bounds every write to a connection.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultCoalesceWindow is the longest a busy connection's events wait
	// for more to join them in the same write (see Config.CoalesceWindow).
	DefaultCoalesceWindow = 10 * time.Millisecond
	// DefaultReadLimit is the largest frame a client may send, in bytes.
	DefaultReadLimit = 64 << 10
)

// The range a client may choose its heartbeat interval in with the
// handshake's heartbeat parameter; values outside are clamped.
const (
	// MinClientHeartbeat is the shortest interval a client may ask for.
	MinClientHeartbeat = time.Second
	// MaxClientHeartbeat is the longest interval a client may ask for.
	MaxClientHeartbeat = 5 * time.Minute
)

// Config configures a Handler. The zero value is ready to use: every zero
// field means the documented default.
type Config struct {
	// HeartbeatInterval is the interval of the server's Ping frames and of
	// the heartbeat frame sent on a connection that has been silent that
	// long. A connection that sends nothing (not even a Pong) for twice the
	// interval is closed. A client may ask for another interval between
	// MinClientHeartbeat and MaxClientHeartbeat with the handshake's
	// heartbeat parameter. Zero means DefaultHeartbeatInterval (15s).
	HeartbeatInterval time.Duration
	// WriteTimeout bounds every write: a client that does not take a
	// write in time is closed as a slow consumer (close code 4000). The
	// deadline is renewed lazily, so a write may be given between half of
	// WriteTimeout and all of it. Zero means DefaultWriteTimeout (10s).
	WriteTimeout time.Duration
	// CoalesceWindow is how long a busy connection's events wait for more
	// to send in the same write: a longer window means fewer system calls
	// and wake-ups per message and more latency. Like Nagle's algorithm,
	// events wait only while the connection is busy, its recent events
	// less than a window and a quarter apart (see bridge.Pace); a message
	// after a quiet spell goes out at once, and a client frame or a Ping
	// takes the waiting events along. Zero means
	// DefaultCoalesceWindow; a negative value turns coalescing off; a
	// window longer than bridge.MaxCoalesceWindow is shortened to it.
	CoalesceWindow time.Duration
	// AllowedOrigins lists the browser origins, besides the server's own,
	// that may connect: exact origins such as "https://app.example.com",
	// origins with a wildcard such as "https://*.example.com", or "*" for
	// any. Empty means same-origin only. A request without an Origin
	// header (not from a browser) is always allowed. A request from an
	// origin that only "*" admits may not use the herald_token cookie as
	// its credential.
	AllowedOrigins []string
	// ReadLimit is the largest frame a client may send, in bytes; a larger
	// one closes the connection with 1009. Zero means DefaultReadLimit
	// (64 KiB).
	ReadLimit int64
	// Auth verifies credentials and decides which topics a client may
	// use. Nil means an open server: everyone may do everything.
	Auth *auth.Authenticator
	// Limits holds the connection, rate and topic limits, shared by every
	// transport of a node. Nil means limits.New with the defaults.
	Limits *limits.Limiter
	// Logger receives connection and error logs. Nil means no logging.
	Logger *slog.Logger
	// Metrics receives the instruments of the "ws" transport. Nil means a
	// private set nobody reads.
	Metrics *metrics.Metrics
}

// withDefaults returns c with every unset field replaced by its default.
func (c Config) withDefaults() Config {
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.CoalesceWindow == 0 {
		c.CoalesceWindow = DefaultCoalesceWindow
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = DefaultReadLimit
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New()
	}
	return c
}

// Limits and timings that are not configurable.
const (
	// readBufferSize is the size of a connection's read buffer. Client
	// frames are small JSON objects; a larger frame is read past the
	// buffer, straight into the message. gorilla adopts a buffer handed
	// over at the hijack only if it is larger than 256 bytes.
	readBufferSize = 512
	// inboxLen bounds the client frames waiting for the writer's answer;
	// a client that has more outstanding is flooding and is closed.
	inboxLen = 16
	// maxStrikes malformed frames, or frames refused for access, within
	// strikeWindow close the connection with 1008.
	maxStrikes   = 5
	strikeWindow = time.Minute
	// closeTimeout bounds the final frames and the close handshake.
	closeTimeout = time.Second
	// lingerLimit is the most unread client input drained before the TCP
	// connection closes after an error, so that the close frame is not
	// lost to a reset.
	lingerLimit = 1 << 20
	// subscribeTimeout bounds a subscription change requested by a frame.
	subscribeTimeout = 10 * time.Second
	// maxWriteBytes bounds one write. A larger batch is written in parts,
	// each under its own write deadline, so that a client that reads
	// steadily is not taken for a slow consumer by the size of a burst.
	maxWriteBytes = 256 << 10
	// maxWriteFrames bounds the frames of one write. The runtime keeps
	// each connection's largest vector of a vectored write for reuse, so
	// this bounds what a burst leaves behind (16 bytes a frame).
	maxWriteFrames = 64
	// keepEvents is the largest event buffer a connection keeps between
	// batches; a larger one, left by a burst, is released.
	keepEvents = 64
)
