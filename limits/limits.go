// Package limits holds the quotas that keep one client from taking a
// node's capacity from the others: connections in total and per client
// address, publishes per second per key, subscribe requests per second per
// connection, and topics per connection. One Limiter is shared by every
// transport of a node, so a client cannot escape a limit by switching
// transport.
//
// Refusals are *refusal.Error values with gRPC code ResourceExhausted
// (HTTP 429), reasons too_many_connections, rate_limited and
// too_many_topics, and a retry delay where waiting helps.
package limits

import (
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/internal/refusal"
)

// Defaults of the limits: generous for one real client, tight enough that
// one client cannot exhaust a node.
const (
	// DefaultMaxConnections bounds a node's streams and connections.
	DefaultMaxConnections = 100_000
	// DefaultMaxConnectionsPerIP bounds them per client address.
	DefaultMaxConnectionsPerIP = 1_000
	// DefaultPublishRate is the sustained publishes per second per key.
	DefaultPublishRate = 1_000
	// DefaultPublishBurst is how many publishes a key may make at once.
	DefaultPublishBurst = 2_000
	// DefaultSubscribeRate is the sustained subscribe requests per second
	// per connection.
	DefaultSubscribeRate = 10
	// DefaultSubscribeBurst is how many subscribe requests a connection
	// may make at once.
	DefaultSubscribeBurst = 50
	// DefaultMaxTopics is the most topics one connection may subscribe
	// to at a time.
	DefaultMaxTopics = 256
)

// idleEvict is how long an unused rate-limit entry is kept. An entry idle
// this long has refilled its burst, so forgetting it changes nothing.
const idleEvict = time.Minute

// Config sets the limits. Zero fields take their defaults; a negative
// field turns its limit off.
type Config struct {
	// MaxConnections bounds the node's streams and connections in total.
	MaxConnections int
	// MaxConnectionsPerIP bounds them per client address.
	MaxConnectionsPerIP int
	// PublishRate is the sustained publishes per second per key (token
	// subject, API key, or client address for anonymous publishers).
	PublishRate float64
	// PublishBurst is how many publishes a key may make at once.
	PublishBurst int
	// SubscribeRate is the sustained subscribe requests per second per
	// connection.
	SubscribeRate float64
	// SubscribeBurst is how many subscribe requests a connection may make
	// at once.
	SubscribeBurst int
	// MaxTopics is the most topics one connection may subscribe to.
	MaxTopics int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = math.MaxInt
		}
	}
	defRate := func(v *float64, d float64) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = float64(rate.Inf)
		}
	}
	def(&c.MaxConnections, DefaultMaxConnections)
	def(&c.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP)
	defRate(&c.PublishRate, DefaultPublishRate)
	def(&c.PublishBurst, DefaultPublishBurst)
	defRate(&c.SubscribeRate, DefaultSubscribeRate)
	def(&c.SubscribeBurst, DefaultSubscribeBurst)
	def(&c.MaxTopics, DefaultMaxTopics)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Limiter enforces a Config. It is safe for concurrent use.
type Limiter struct {
	cfg Config

	mu    sync.Mutex
	total int
	perIP map[string]int

	publish   keyed
	subscribe keyed
}

// New returns a Limiter enforcing cfg.
func New(cfg Config) *Limiter {
	cfg = cfg.withDefaults()
	return &Limiter{
		cfg:       cfg,
		perIP:     make(map[string]int),
		publish:   keyed{limit: rate.Limit(cfg.PublishRate), burst: cfg.PublishBurst, m: make(map[string]*entry)},
		subscribe: keyed{limit: rate.Limit(cfg.SubscribeRate), burst: cfg.SubscribeBurst, m: make(map[string]*entry)},
	}
}

// Connect admits one more stream or connection from the client address
// ip (counted under AddressKey(ip)), or refuses it with
// too_many_connections. release gives the slot
// back; call it exactly once, when the stream or connection ends.
func (l *Limiter) Connect(ip string) (release func(), err error) {
	ip = AddressKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.cfg.MaxConnections {
		return nil, tooMany(fmt.Sprintf("the server is at its limit of %d connections; try again later", l.cfg.MaxConnections))
	}
	if l.perIP[ip] >= l.cfg.MaxConnectionsPerIP {
		return nil, tooMany(fmt.Sprintf("too many connections from %s (limit %d)", ip, l.cfg.MaxConnectionsPerIP))
	}
	l.total++
	l.perIP[ip]++
	var once sync.Once
	return func() { once.Do(func() { l.release(ip) }) }, nil
}

// AddressKey returns the key under which a client address is counted: the
// address itself for IPv4, and its /64 network for IPv6, since one IPv6
// client commonly holds a whole /64 and could otherwise take as many
// addresses as it likes. An IPv4-mapped IPv6 address counts as its IPv4
// address; a string that is not an IP address counts as itself.
func AddressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

func (l *Limiter) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if n := l.perIP[ip] - 1; n > 0 {
		l.perIP[ip] = n
	} else {
		delete(l.perIP, ip)
	}
}

// Connections returns how many streams and connections are admitted.
func (l *Limiter) Connections() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Publish admits one publish by key, or refuses it with rate_limited and
// the time after which it would be admitted.
func (l *Limiter) Publish(key string) error {
	if d, ok := l.publish.allow(key, l.cfg.Now()); !ok {
		return rateLimited(fmt.Sprintf("publish rate limit of %g per second exceeded", l.cfg.PublishRate), d)
	}
	return nil
}

// Subscribe admits one subscribe request on the connection identified by
// conn (for transports whose connections Herald does not hold itself: the
// client's address and port), or refuses it with rate_limited.
func (l *Limiter) Subscribe(conn string) error {
	if d, ok := l.subscribe.allow(conn, l.cfg.Now()); !ok {
		return subscribeLimited(l.cfg.SubscribeRate, d)
	}
	return nil
}

// ConnRate is the subscribe rate limit of one connection that Herald
// holds itself (a WebSocket). It is used by that connection's reader
// only.
type ConnRate struct {
	lim   *rate.Limiter
	limit float64
	now   func() time.Time
}

// NewConnRate returns the subscribe rate limit of a new connection.
func (l *Limiter) NewConnRate() *ConnRate {
	return &ConnRate{
		lim:   rate.NewLimiter(rate.Limit(l.cfg.SubscribeRate), l.cfg.SubscribeBurst),
		limit: l.cfg.SubscribeRate,
		now:   l.cfg.Now,
	}
}

// Allow admits one subscribe request, or refuses it with rate_limited.
func (c *ConnRate) Allow() error {
	now := c.now()
	if c.lim.AllowN(now, 1) {
		return nil
	}
	return subscribeLimited(c.limit, delay(c.lim, now))
}

// delay returns how long until lim has a token, without taking one.
func delay(lim *rate.Limiter, now time.Time) time.Duration {
	r := lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return d
}

// CheckTopics refuses a connection that would hold n topics, more than
// MaxTopics, with too_many_topics.
func (l *Limiter) CheckTopics(n int) error {
	if n <= l.cfg.MaxTopics {
		return nil
	}
	return refusal.New(codes.ResourceExhausted, refusal.TooManyTopics,
		fmt.Sprintf("%d topics on one connection; the limit is %d", n, l.cfg.MaxTopics))
}

func subscribeLimited(limit float64, d time.Duration) error {
	return rateLimited(fmt.Sprintf("subscribe rate limit of %g per second exceeded", limit), d)
}

func tooMany(msg string) error {
	return refusal.New(codes.ResourceExhausted, refusal.TooManyConnections, msg)
}

func rateLimited(msg string, retry time.Duration) error {
	e := refusal.New(codes.ResourceExhausted, refusal.RateLimited, msg)
	e.RetryAfter = retry
	return e
}

// keyed is a set of token buckets by key, forgetting idle ones.
type keyed struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	m         map[string]*entry
	lastSweep time.Time
}

type entry struct {
	lim  *rate.Limiter
	used time.Time
}

// allow takes a token from key's bucket; when there is none it returns
// how long until there will be.
func (k *keyed) allow(key string, now time.Time) (time.Duration, bool) {
	if k.limit == rate.Inf {
		return 0, true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.lastSweep) >= idleEvict {
		for key, e := range k.m {
			if now.Sub(e.used) >= idleEvict {
				delete(k.m, key)
			}
		}
		k.lastSweep = now
	}
	e := k.m[key]
	if e == nil {
		e = &entry{lim: rate.NewLimiter(k.limit, k.burst)}
		k.m[key] = e
	}
	e.used = now
	if e.lim.AllowN(now, 1) {
		return 0, true
	}
	return delay(e.lim, now), false
}

// size returns how many keys are tracked (for tests).
func (k *keyed) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}
