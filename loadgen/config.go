package loadgen

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// ErrInvalidConfig is returned, wrapped, by Config.Validate and Run for a
// configuration they refuse; the message says which setting and why.
var ErrInvalidConfig = errors.New("loadgen: invalid config")

// Transport is how subscribers connect.
type Transport string

// The transports a run can use.
const (
	// TransportSSE subscribes with GET /v1/sse (Server-Sent Events).
	TransportSSE Transport = "sse"
	// TransportWS subscribes with GET /v1/ws (WebSocket).
	TransportWS Transport = "ws"
	// TransportGRPC subscribes with PubSubService.Subscribe, one HTTP/2
	// connection per subscriber.
	TransportGRPC Transport = "grpc"
)

// Hard bounds of a run, whatever the configuration asks.
const (
	// MaxSubscribers bounds the connections a run opens.
	MaxSubscribers = 100_000
	// MaxRate bounds the total publish rate, in messages per second.
	MaxRate = 100_000
	// MaxDuration bounds the measured phase (publishing or holding).
	MaxDuration = time.Hour
	// MaxWarmup bounds the warm-up before measuring.
	MaxWarmup = 10 * time.Minute
	// MaxDrain bounds the wait for messages in flight after publishing.
	MaxDrain = 5 * time.Minute
	// MaxPayloadSize bounds a payload: the server's default message limit.
	MaxPayloadSize = 1 << 20
	// MaxSourceAddrs bounds the source addresses, 127.0.0.1 to
	// 127.0.0.254.
	MaxSourceAddrs = 254
	// MaxConnectRate bounds the connections opened per second.
	MaxConnectRate = 100_000
	// ConnsPerSourceAddr is how many connections a source address takes
	// when Config.SourceAddrs is zero: well under the ~28 000 ephemeral
	// ports Linux gives one address by default.
	ConnsPerSourceAddr = 20_000
)

// Defaults of the zero fields of a Config.
const (
	DefaultTransport      = TransportSSE
	DefaultSubscribers    = 1000
	DefaultRate           = 100
	DefaultDuration       = 30 * time.Second
	DefaultPayloadSize    = 100
	DefaultTopic          = "bench"
	DefaultHTTPAddr       = "127.0.0.1:8080"
	DefaultGRPCAddr       = "127.0.0.1:9090"
	DefaultConnectRate    = 2000
	DefaultDrain          = 10 * time.Second
	DefaultConnectTimeout = 10 * time.Second
)

// Config describes a run. Zero fields take the documented defaults
// (Warmup and ServerPID stay zero: no warm-up, no server measurement).
// A Config is a plain value, safe to copy.
type Config struct {
	// Transport is how subscribers connect. Default TransportSSE.
	Transport Transport
	// Subscribers is the number of subscriber connections, at most
	// MaxSubscribers. Default 1000.
	Subscribers int
	// Rate is the total publish rate in messages per second, shared by the
	// publishers; with every subscriber on one topic, deliveries per second
	// are Rate × Subscribers. At most MaxRate. Default 100.
	Rate int
	// Duration is how long the measured phase lasts: publishing after the
	// warm-up, or, with Idle, holding the connections. Default 30s.
	Duration time.Duration
	// Warmup is how long publishing runs before measuring starts; its
	// messages count for loss but not for latency, rate or CPU. Default
	// zero. Ignored with Idle.
	Warmup time.Duration
	// PayloadSize is the size of every payload in bytes, at least
	// HeaderLen. Default 100.
	PayloadSize int
	// Topic is the topic every subscriber subscribes to and every message
	// is published to. Default "bench".
	Topic string
	// HTTPAddr is the server's HTTP address, for SSE and WebSocket. It
	// must be a loopback address or a name that resolves only to loopback
	// addresses. Default "127.0.0.1:8080".
	HTTPAddr string
	// GRPCAddr is the server's gRPC address, for publishing and gRPC
	// subscribers. Loopback only, like HTTPAddr. Default "127.0.0.1:9090".
	GRPCAddr string
	// ServerPID is the server's process id, to read its CPU time and
	// memory from /proc. Zero: no server measurement.
	ServerPID int
	// SourceAddrs spreads subscriber connections over the source addresses
	// 127.0.0.1 … 127.0.0.SourceAddrs, round robin, because one source
	// address has only about 28 000 ephemeral ports. It needs an IPv4
	// server address. Zero: one address per ConnsPerSourceAddr
	// connections, and none chosen explicitly when one is enough.
	SourceAddrs int
	// ConnectRate is how many connections are opened per second while
	// ramping up. Default 2000.
	ConnectRate int
	// Idle opens the connections, publishes nothing and holds them for
	// Duration: the memory-per-connection measurement.
	Idle bool
	// Publishers is the number of concurrent publishers, each with its own
	// sequence, sharing Rate; capped at Rate. Each waits for one Publish to
	// return before the next, so together they sustain at most Publishers
	// divided by the Publish round trip, which grows when the server is
	// busy fanning out. Zero: one per message per second up to 32, then
	// one per 10 msg/s up to 64 — so that each publisher has at least
	// 64 ms per message up to 1 000 msg/s.
	Publishers int
	// Drain bounds the wait, after publishing ends, for messages still in
	// flight. Default 10s.
	Drain time.Duration
	// ConnectTimeout bounds opening one subscriber connection, up to its
	// subscription confirmation. Default 10s.
	ConnectTimeout time.Duration
	// SSEEnvelope asks SSE for the JSON envelope (envelope=1) instead of
	// the raw payload in data lines.
	SSEEnvelope bool
	// Logger receives progress records (phases, and every few seconds
	// during long ones). Nil discards them.
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Transport == "" {
		c.Transport = DefaultTransport
	}
	if c.Subscribers == 0 {
		c.Subscribers = DefaultSubscribers
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.PayloadSize == 0 {
		c.PayloadSize = DefaultPayloadSize
	}
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.GRPCAddr == "" {
		c.GRPCAddr = DefaultGRPCAddr
	}
	if c.ConnectRate == 0 {
		c.ConnectRate = DefaultConnectRate
	}
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Idle {
		c.Warmup = 0
	}
	return c
}

// Validate checks c, with defaults applied, against the bounds of a run.
// It checks that the server addresses are loopback when they are IP
// literals; host names are resolved, and checked, by Run.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch c.Transport {
	case TransportSSE, TransportWS, TransportGRPC:
	default:
		return bad("transport %q is not one of sse, ws, grpc", c.Transport)
	}
	checks := []struct {
		name     string
		val, max int64
	}{
		{"subscribers", int64(c.Subscribers), MaxSubscribers},
		{"rate", int64(c.Rate), MaxRate},
		{"duration", int64(c.Duration), int64(MaxDuration)},
		{"payload size", int64(c.PayloadSize), MaxPayloadSize},
		{"connect rate", int64(c.ConnectRate), MaxConnectRate},
		{"drain", int64(c.Drain), int64(MaxDrain)},
		{"connect timeout", int64(c.ConnectTimeout), int64(time.Minute)},
	}
	for _, ch := range checks {
		if ch.val <= 0 || ch.val > ch.max {
			return bad("%s %d out of range (1 to %d)", ch.name, ch.val, ch.max)
		}
	}
	switch {
	case c.Warmup < 0 || c.Warmup > MaxWarmup:
		return bad("warmup %v out of range (0 to %v)", c.Warmup, MaxWarmup)
	case c.PayloadSize < HeaderLen:
		return bad("payload size %d is smaller than the %d-byte header every payload carries", c.PayloadSize, HeaderLen)
	case c.Publishers < 0 || c.Publishers > MaxPublishers:
		return bad("publishers %d out of range (0 for automatic, up to %d)", c.Publishers, MaxPublishers)
	case c.ServerPID < 0:
		return bad("server pid %d is negative", c.ServerPID)
	case c.SourceAddrs < 0 || c.SourceAddrs > MaxSourceAddrs:
		return bad("source addrs %d out of range (0 to %d)", c.SourceAddrs, MaxSourceAddrs)
	}
	if err := validTopic(c.Topic); err != nil {
		return bad("%v", err)
	}
	if n := c.sourceAddrs(); n > MaxSourceAddrs {
		return bad("%d subscribers need %d source addresses at %d each; at most %d",
			c.Subscribers, n, ConnsPerSourceAddr, MaxSourceAddrs)
	}
	for _, a := range []struct{ name, addr string }{{"http addr", c.HTTPAddr}, {"grpc addr", c.GRPCAddr}} {
		if err := checkAddrSyntax(a.addr); err != nil {
			return bad("%s: %v", a.name, err)
		}
	}
	return nil
}

// sourceAddrs is the number of source addresses a run binds, or zero when
// it leaves the choice to the kernel.
func (c Config) sourceAddrs() int {
	if c.SourceAddrs > 0 {
		return c.SourceAddrs
	}
	n := int(math.Ceil(float64(c.Subscribers) / ConnsPerSourceAddr))
	if n <= 1 {
		return 0
	}
	return n
}

// publishers is the number of publishers a run starts: as configured or
// automatic, and at most one per message per second, so that each has a
// rate of at least one.
func (c Config) publishers() int {
	n := c.Publishers
	if n == 0 {
		n = min(max(autoPublishers, (c.Rate+autoRatePerPublisher-1)/autoRatePerPublisher), autoMaxPublishers)
	}
	return max(1, min(n, c.Rate))
}

// Automatic publisher count: one per message per second up to
// autoPublishers, then one per autoRatePerPublisher msg/s up to
// autoMaxPublishers.
const (
	autoPublishers       = 32
	autoRatePerPublisher = 10
	autoMaxPublishers    = 64
)

// validTopic checks a concrete topic name by Herald's rules, so that a
// typo is reported before hundreds of connections are refused.
func validTopic(t string) error {
	if len(t) == 0 || len(t) > 255 {
		return fmt.Errorf("topic must be 1 to 255 characters, got %d", len(t))
	}
	prevDot := true
	for i := range len(t) {
		c := t[i]
		switch {
		case c == '.':
			if prevDot {
				return fmt.Errorf("topic %q has an empty token", t)
			}
			prevDot = true
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '-', c == ':', c == '@':
		default:
			return fmt.Errorf("topic %q: character %q not allowed (A-Z a-z 0-9 _ - . : @; no wildcards)", t, c)
		}
		prevDot = false
	}
	if prevDot {
		return fmt.Errorf("topic %q has an empty token", t)
	}
	return nil
}
