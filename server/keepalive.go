package server

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Keepalive holds the HTTP/2 keepalive parameters of the server and the
// policy it enforces on client pings. grpc-go's own defaults suit short
// unary calls, not long-lived streams: the server pings only after two hours
// of silence, and it sends GOAWAY to any client that pings more often than
// every five minutes, which is exactly what clients of long-lived streams
// behind proxies and NATs are told to do.
//
// Zero fields take the value of DefaultKeepalive. For the three connection
// lifetime fields that value is zero, meaning "never". A Keepalive is a
// plain value, safe to copy.
type Keepalive struct {
	// Time is how long a connection may stay silent (nothing received from
	// the client) before the server pings it. Default 15s: a dead peer
	// (crashed host, dropped NAT mapping, cut cable) is otherwise only
	// noticed when TCP gives up retransmitting, many minutes later.
	// Time+Timeout stays under two default heartbeat intervals, so a dead
	// subscriber's resources are freed within 30s.
	Time time.Duration
	// Timeout is how long the server waits for the ping's acknowledgement
	// before it closes the connection. Default 10s: generous enough for a
	// congested mobile link, short enough to free a dead peer promptly.
	Timeout time.Duration
	// MinTime is the shortest interval between client pings that the
	// server tolerates; a client that pings more often is sent GOAWAY
	// ("too_many_pings") and disconnected. Default 5s: below the 10s
	// minimum of grpc-go clients and the 10–30s that other stacks and
	// proxy-friendly configurations use, while still stopping a client
	// that floods the server with pings.
	MinTime time.Duration
	// RefusePingsWithoutStream makes the server treat a client ping on a
	// connection with no active call as a policy violation (GOAWAY
	// too_many_pings). Default false, so such pings are allowed:
	// publishers keep connections open between calls and subscribers
	// between reconnects, and pinging them is how clients keep NATs and
	// load balancers from dropping them.
	RefusePingsWithoutStream bool
	// MaxConnectionIdle closes a connection that has had no active call for
	// this long. Default zero, never: an idle HTTP/2 connection costs a few
	// KiB, and closing it makes the next publish pay a new handshake.
	MaxConnectionIdle time.Duration
	// MaxConnectionAge sends GOAWAY to a connection this old, so that
	// clients reconnect (and, behind a layer-4 load balancer, spread over
	// new servers). Default zero, never: every Subscribe stream would be cut
	// at that age. Clients resume from their last id without loss, so an
	// operator may set it to rebalance long-lived connections.
	MaxConnectionAge time.Duration
	// MaxConnectionAgeGrace is how long calls in flight may continue after
	// MaxConnectionAge before the connection is closed. Default zero, never.
	// Subscribe streams never end by themselves, so set it together with
	// MaxConnectionAge.
	MaxConnectionAgeGrace time.Duration
}

// DefaultKeepalive returns the production keepalive settings described on
// the fields of Keepalive: Time 15s, Timeout 10s, MinTime 5s,
// pings allowed without an active call, and connections that are never closed for
// idleness or age.
func DefaultKeepalive() Keepalive {
	return Keepalive{
		Time:    15 * time.Second,
		Timeout: 10 * time.Second,
		MinTime: 5 * time.Second,
	}
}

// withDefaults returns k with every zero field replaced by the value of
// DefaultKeepalive.
func (k Keepalive) withDefaults() Keepalive {
	d := DefaultKeepalive()
	if k.Time <= 0 {
		k.Time = d.Time
	}
	if k.Timeout <= 0 {
		k.Timeout = d.Timeout
	}
	if k.MinTime <= 0 {
		k.MinTime = d.MinTime
	}
	k.MaxConnectionIdle = max(k.MaxConnectionIdle, 0)
	k.MaxConnectionAge = max(k.MaxConnectionAge, 0)
	k.MaxConnectionAgeGrace = max(k.MaxConnectionAgeGrace, 0)
	return k
}

// serverOptions returns the grpc.Server options for k, which must have
// its defaults applied. grpc-go reads a zero lifetime field as "never".
func (k Keepalive) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time:                  k.Time,
			Timeout:               k.Timeout,
			MaxConnectionIdle:     k.MaxConnectionIdle,
			MaxConnectionAge:      k.MaxConnectionAge,
			MaxConnectionAgeGrace: k.MaxConnectionAgeGrace,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             k.MinTime,
			PermitWithoutStream: !k.RefusePingsWithoutStream,
		}),
	}
}
