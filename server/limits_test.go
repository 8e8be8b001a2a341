package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/limits/limitstest"
)

// A publisher over its rate is refused with RESOURCE_EXHAUSTED and a retry
// delay; every publish accepted before reaches subscribers. Each token
// subject has its own rate.
func TestPublishRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{
		Auth:              newAuth(t, auth.Config{}),
		Limits:            limits.New(limits.Config{PublishRate: 1, PublishBurst: 2}),
		HeartbeatInterval: time.Hour,
	}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)
	token := func(sub string) context.Context {
		return bearer(ctx, authtest.Mint(t, authtest.Grant{Sub: sub, Subscribe: []string{">"}, Publish: []string{">"}}))
	}
	alice, bob := token("alice"), token("bob")
	st, _ := subscribe(bob, t, c, &heraldv1.SubscribeRequest{Topics: []string{"t"}})

	// The burst of 2 is spent at once; one more token comes every second,
	// so some publish among the next few is refused.
	var accepted []string
	var err error
	for range 10 {
		var res *heraldv1.PublishResponse
		if res, err = c.Publish(alice, &heraldv1.PublishRequest{Topic: "t", Data: []byte("x")}); err != nil {
			break
		}
		accepted = append(accepted, res.GetId())
	}
	wantStatus(t, err, codes.ResourceExhausted, "publish rate limit of 1 per second exceeded")
	if got := reasonOf(err); got != refusal.RateLimited {
		t.Errorf("reason %q, want %q", got, refusal.RateLimited)
	}
	if d := retryDelay(err); d <= 0 || d > time.Second {
		t.Errorf("retry delay %v, want within (0, 1s]", d)
	}
	if len(accepted) < 2 {
		t.Errorf("accepted %d publishes, want at least the burst of 2", len(accepted))
	}
	if got := e.refused(t, refusal.RateLimited); got != 1 {
		t.Errorf("refused{rate_limited} = %v, want 1", got)
	}

	// Bob's rate is his own.
	last := publish(bob, t, c, "t", "bob")
	for _, id := range append(accepted, last.GetId()) {
		if m := recvMessage(t, st); m.GetId() != id {
			t.Fatalf("received %s, want %s", m.GetId(), id)
		}
	}
}

// A client address may hold MaxConnectionsPerIP streams, and the node
// MaxConnections, whoever opens them; the slot comes back when a stream
// ends.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range limitstest.ConnectionCases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			lim := limits.New(tc.Config)
			e := newEnv(t, Config{Limits: lim, HeartbeatInterval: time.Hour}, memory.Options{})
			ctx := testContext(t)
			c := e.client(t)

			first, cancel := context.WithCancel(ctx)
			subscribe(first, t, c, &heraldv1.SubscribeRequest{Topics: []string{"a"}})
			err := subscribeErr(ctx, t, e.client(t), "b")
			wantStatus(t, err, codes.ResourceExhausted, tc.Refusal)
			if got := reasonOf(err); got != refusal.TooManyConnections {
				t.Errorf("reason %q, want %q", got, refusal.TooManyConnections)
			}
			if tc.Config.MaxConnectionsPerIP > 0 {
				// Claiming another address does not help a client that
				// connects directly: only the in-process gateway may name
				// its client.
				spoofed := metadata.AppendToOutgoingContext(ctx, ClientAddrHeader, "10.1.2.3:4567")
				err = subscribeErr(spoofed, t, c, "b")
				wantStatus(t, err, codes.ResourceExhausted, "too many connections from 127.0.0.1")
				if got := e.refused(t, refusal.TooManyConnections); got != 2 {
					t.Errorf("refused{too_many_connections} = %v, want 2", got)
				}
			}

			cancel()
			waitFor(t, testTimeout, "the first stream's slot to be released", func() bool { return lim.Connections() == 0 })
			subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"b"}})
			if got := lim.Connections(); got != 1 {
				t.Errorf("connections = %d, want 1", got)
			}
		})
	}
}

// Calls over the in-process listener are limited by the address the
// gateway names for its client, not by the in-process connection.
func TestConnectionLimitInProcess(t *testing.T) {
	t.Parallel()
	lim := limits.New(limits.Config{MaxConnectionsPerIP: 1})
	e := newEnv(t, Config{Limits: lim, HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := heraldv1.NewPubSubServiceClient(e.inProcessConn(t))
	from := func(addr string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, ClientAddrHeader, addr)
	}

	subscribe(from("192.0.2.1:1000"), t, c, &heraldv1.SubscribeRequest{Topics: []string{"a"}})
	subscribe(from("192.0.2.2:1000"), t, c, &heraldv1.SubscribeRequest{Topics: []string{"a"}})
	err := subscribeErr(from("192.0.2.1:2000"), t, c, "a")
	wantStatus(t, err, codes.ResourceExhausted, "too many connections from 192.0.2.1 (limit 1)")

	// Two addresses are one too many: neither is believed, and the call
	// counts under the in-process connection's own address.
	twice := func(port string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, ClientAddrHeader, "192.0.2.3:"+port, ClientAddrHeader, "192.0.2.4:"+port)
	}
	subscribe(twice("1"), t, c, &heraldv1.SubscribeRequest{Topics: []string{"a"}})
	err = subscribeErr(twice("2"), t, c, "a")
	wantStatus(t, err, codes.ResourceExhausted, "too many connections from bufconn (limit 1)")
}

// A stream may not hold more than MaxTopics topics.
func TestTopicsLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Limits: limits.New(limits.Config{MaxTopics: 2}), HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)

	err := subscribeErr(ctx, t, c, "a", "b", "c")
	wantStatus(t, err, codes.ResourceExhausted, "3 topics on one connection; the limit is 2")
	if got := reasonOf(err); got != refusal.TooManyTopics {
		t.Errorf("reason %q, want %q", got, refusal.TooManyTopics)
	}
	subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"a", "b"}})
	if got := e.refused(t, refusal.TooManyTopics); got != 1 {
		t.Errorf("refused{too_many_topics} = %v, want 1", got)
	}
}

// Subscribe requests are rate limited per connection: another connection
// from the same address has its own rate.
func TestSubscribeRateLimit(t *testing.T) {
	t.Parallel()
	// One request per 100 seconds: the second is refused however slow the
	// machine.
	lim := limits.New(limits.Config{SubscribeRate: 0.01, SubscribeBurst: 1})
	e := newEnv(t, Config{Limits: lim, HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)

	subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"a"}})
	err := subscribeErr(ctx, t, c, "b")
	wantStatus(t, err, codes.ResourceExhausted, "subscribe rate limit")
	if got := reasonOf(err); got != refusal.RateLimited {
		t.Errorf("reason %q, want %q", got, refusal.RateLimited)
	}
	if d := retryDelay(err); d < 90*time.Second || d > 100*time.Second {
		t.Errorf("retry delay %v, want about 100s", d)
	}
	subscribe(ctx, t, e.client(t), &heraldv1.SubscribeRequest{Topics: []string{"b"}})
}

// A relay (a bridge's API key) opens as many streams as its clients need,
// at any rate, from one address; it is still held to its permissions and
// the topics limit.
func TestRelayOutsideConnectionLimits(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "keys.json", `{"keys": [
		{"name": "bridge", "key": "bridge-key-0123456789", "subscribe": ["news.>"], "relay": true},
		{"name": "reader", "key": "reader-key-0123456789", "subscribe": ["news.>"]}
	]}`)
	lim := limits.New(limits.Config{MaxConnectionsPerIP: 1, SubscribeRate: 0.01, SubscribeBurst: 1, MaxTopics: 2})
	e := newEnv(t, Config{Auth: newAuth(t, auth.Config{APIKeysFile: file}), Limits: lim, HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)
	bridge := bearer(ctx, "bridge-key-0123456789")

	for range 3 {
		subscribe(bridge, t, c, &heraldv1.SubscribeRequest{Topics: []string{"news.a"}})
	}
	err := subscribeErr(bridge, t, c, "sports")
	wantStatus(t, err, codes.PermissionDenied, `api_key "bridge" may not subscribe to "sports"`)
	err = subscribeErr(bridge, t, c, "news.a", "news.b", "news.c")
	wantStatus(t, err, codes.ResourceExhausted, "3 topics on one connection")

	// Others from the same address are still limited.
	reader := bearer(ctx, "reader-key-0123456789")
	subscribe(reader, t, e.client(t), &heraldv1.SubscribeRequest{Topics: []string{"news.a"}})
	err = subscribeErr(reader, t, e.client(t), "news.a")
	wantStatus(t, err, codes.ResourceExhausted, "too many connections from 127.0.0.1")
}

// A call that carries a relay key (a bridge's) as its relay credential
// is limited by the client address it names, on behalf of the client
// whose own credential it carries; without a valid relay credential the
// named address is not believed, and the call counts under its peer's.
func TestConnectionLimitRelayed(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "keys.json", `{"keys": [
		{"name": "bridge", "key": "bridge-key-0123456789", "subscribe": ["news"], "relay": true},
		{"name": "reader", "key": "reader-key-0123456789", "subscribe": ["news"]}
	]}`)
	lim := limits.New(limits.Config{MaxConnectionsPerIP: 1})
	a := newAuth(t, auth.Config{HMACSecret: authtest.Secret, APIKeysFile: file})
	e := newEnv(t, Config{Auth: a, Limits: lim, HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := bearer(testContext(t), authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}}))
	c := e.client(t)
	from := func(addr string, relay ...string) context.Context {
		md := []string{ClientAddrHeader, addr}
		for _, cred := range relay {
			md = append(md, RelayAuthorizationHeader, cred)
		}
		return metadata.AppendToOutgoingContext(ctx, md...)
	}
	req := &heraldv1.SubscribeRequest{Topics: []string{"news"}}

	// Relayed: each client address has its own slot.
	const relay = "Bearer bridge-key-0123456789"
	subscribe(from("192.0.2.1:1000", relay), t, c, req)
	subscribe(from("192.0.2.2:1000", relay), t, c, req)
	err := subscribeErr(from("192.0.2.1:2000", relay), t, c, "news")
	wantStatus(t, err, codes.ResourceExhausted, "too many connections from 192.0.2.1 (limit 1)")

	// Not relayed: the peer's address, 127.0.0.1, takes the first slot,
	// whatever address each call names.
	subscribe(from("192.0.2.3:1000"), t, c, req)
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"no relay credential", from("192.0.2.4:1000")},
		{"a key that is no relay's", from("192.0.2.4:1000", "Bearer reader-key-0123456789")},
		{"an unknown key", from("192.0.2.4:1000", "Bearer unknown-key-0123456789")},
		{"a token", from("192.0.2.4:1000", "Bearer "+authtest.Mint(t, authtest.Grant{Sub: "bridge", Subscribe: []string{"news"}}))},
		{"not a bearer", from("192.0.2.4:1000", "bridge-key-0123456789")},
		{"the relay key twice", from("192.0.2.4:1000", relay, relay)},
	} {
		err := subscribeErr(tc.ctx, t, c, "news")
		if st := status.Convert(err); st.Code() != codes.ResourceExhausted || st.Message() != "too many connections from 127.0.0.1 (limit 1)" {
			t.Errorf("%s: %v, want the limit of 127.0.0.1", tc.name, err)
		}
	}
}
