package server

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/refusal"
)

// badCredential is a credential the access tests refuse, with the code,
// reason and message part it gets.
type badCredential struct {
	name   string
	md     []string // outgoing metadata
	code   codes.Code
	reason string
	msg    string
}

// badCredentials returns the credentials strictAuth refuses, for topic
// "news": it accepts audience "herald" and issuer "https://issuer.test".
func badCredentials(t testing.TB) []badCredential {
	md := func(g authtest.Grant) []string {
		if g.Audience == "" {
			g.Audience = "herald"
		}
		if g.Issuer == "" {
			g.Issuer = "https://issuer.test"
		}
		if g.Subscribe == nil {
			g.Subscribe, g.Publish = []string{">"}, []string{">"}
		}
		return []string{auth.MetadataKey, "Bearer " + authtest.Mint(t, g)}
	}
	return []badCredential{
		{"no credential", nil, codes.Unauthenticated, refusal.Unauthenticated, "authentication required"},
		{"not a bearer", []string{auth.MetadataKey, "Basic dXNlcjpwdw=="}, codes.Unauthenticated, refusal.InvalidToken, "Bearer"},
		{"garbage", []string{auth.MetadataKey, "Bearer not.a.token"}, codes.Unauthenticated, refusal.InvalidToken, "malformed"},
		{"bad signature", md(authtest.Grant{Sub: "alice", Secret: "another-secret-of-at-least-32-bytes!!"}),
			codes.Unauthenticated, refusal.InvalidToken, "signature"},
		{"expired", md(authtest.Grant{Sub: "alice", Expires: time.Now().Add(-time.Hour)}), codes.Unauthenticated, refusal.TokenExpired, "expired"},
		{"wrong audience", md(authtest.Grant{Sub: "alice", Audience: "other"}),
			codes.Unauthenticated, refusal.InvalidToken, "audience"},
		{"wrong issuer", md(authtest.Grant{Sub: "alice", Issuer: "https://evil.test"}),
			codes.Unauthenticated, refusal.InvalidToken, "issuer"},
		{"outside the claim", md(authtest.Grant{Sub: "alice", Subscribe: []string{"other"}, Publish: []string{"other"}}),
			codes.PermissionDenied, refusal.PermissionDenied, `token "alice" may not`},
	}
}

// strictAuth is the Authenticator of the access tests.
func strictAuth(t testing.TB) *auth.Authenticator {
	return newAuth(t, auth.Config{Audience: "herald", Issuer: "https://issuer.test"})
}

func TestPublishAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Auth: strictAuth(t)}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)

	for _, tc := range badCredentials(t) {
		_, err := c.Publish(metadata.AppendToOutgoingContext(ctx, tc.md...),
			&heraldv1.PublishRequest{Topic: "news", Data: []byte("x")})
		wantStatus(t, err, tc.code, tc.msg)
		if got := reasonOf(err); got != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.name, got, tc.reason)
		}
	}
	// A client without a credential learns nothing about its request.
	_, err := c.Publish(ctx, &heraldv1.PublishRequest{Topic: "bad topic!"})
	wantStatus(t, err, codes.Unauthenticated, "authentication required")

	tok := authtest.Mint(t, authtest.Grant{Sub: "alice", Audience: "herald", Issuer: "https://issuer.test", Publish: []string{"news.>"}})
	publish(bearer(ctx, tok), t, c, "news.eu", "accepted")
	_, err = c.Publish(bearer(ctx, tok), &heraldv1.PublishRequest{Topic: "news"})
	wantStatus(t, err, codes.PermissionDenied, `token "alice" may not publish to "news"`)

	want := map[string]float64{
		refusal.Unauthenticated:  2,
		refusal.InvalidToken:     5,
		refusal.TokenExpired:     1,
		refusal.PermissionDenied: 2,
	}
	for reason, n := range want {
		if got := e.refused(t, reason); got != n {
			t.Errorf("refused{reason=%q} = %v, want %v", reason, got, n)
		}
	}
}

func TestSubscribeAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Auth: strictAuth(t), HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)

	for _, tc := range badCredentials(t) {
		err := subscribeErr(metadata.AppendToOutgoingContext(ctx, tc.md...), t, c, "news")
		wantStatus(t, err, tc.code, tc.msg)
		if got := reasonOf(err); got != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.name, got, tc.reason)
		}
	}
	if got := e.met.Transport("grpc").Subscriptions; value(t, got) != 0 {
		t.Errorf("refused streams hold %v subscriptions", value(t, got))
	}
}

// Every user reads their own topic through one pattern, user.{sub}, and
// nobody else's.
func TestSubscribeOwnTopic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Auth: newAuth(t, auth.Config{}), HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)
	userGrant := func(sub string) authtest.Grant {
		return authtest.Grant{Sub: sub, Subscribe: []string{"user.{sub}"}}
	}
	alice := bearer(ctx, authtest.Mint(t, userGrant("alice")))
	service := bearer(ctx, authtest.Mint(t, authtest.Grant{Sub: "notifier", Publish: []string{"user.*"}}))

	for _, topics := range [][]string{{"user.bob"}, {"user.*"}, {"user.>"}, {"user.alice", "user.bob"}} {
		err := subscribeErr(alice, t, c, topics...)
		wantStatus(t, err, codes.PermissionDenied, `token "alice" may not subscribe to "user.`)
	}

	st, _ := subscribe(alice, t, c, &heraldv1.SubscribeRequest{Topics: []string{"user.alice"}})
	publish(service, t, c, "user.bob", "for bob")
	res := publish(service, t, c, "user.alice", "for alice")
	if m := recvMessage(t, st); m.GetId() != res.GetId() || string(m.GetData()) != "for alice" {
		t.Errorf("alice received %v, want her own message %s", m, res.GetId())
	}
}

// Anonymous clients may subscribe to the allowed patterns only, and never
// publish; holders of tokens may subscribe to those patterns too.
func TestAnonymousAccess(t *testing.T) {
	t.Parallel()
	a := newAuth(t, auth.Config{AllowAnonymous: []string{"public.>"}})
	e := newEnv(t, Config{Auth: a, HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)
	holder := bearer(ctx, authtest.Mint(t, authtest.Grant{Sub: "editor", Publish: []string{">"}}))

	anon, _ := subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"public.news"}})
	st, _ := subscribe(holder, t, c, &heraldv1.SubscribeRequest{Topics: []string{"public.>"}})
	for _, topics := range [][]string{{"private"}, {">"}, {"public.news", "private"}} {
		err := subscribeErr(ctx, t, c, topics...)
		wantStatus(t, err, codes.Unauthenticated, "anonymous clients may not subscribe to")
		if got := reasonOf(err); got != refusal.Unauthenticated {
			t.Errorf("reason %q, want %q", got, refusal.Unauthenticated)
		}
	}
	_, err := c.Publish(ctx, &heraldv1.PublishRequest{Topic: "public.news"})
	wantStatus(t, err, codes.Unauthenticated, "anonymous clients may not publish")

	res := publish(holder, t, c, "public.news", "hello")
	for _, s := range []subStream{anon, st} {
		if m := recvMessage(t, s); m.GetId() != res.GetId() {
			t.Errorf("received %v, want %s", m, res.GetId())
		}
	}
}

// Services publish with the keys of the API keys file.
func TestAPIKeyAccess(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "keys.json", `{"keys": [
		{"name": "billing", "key": "billing-key-0123456789", "publish": ["orders.>"]},
		{"name": "audit", "key": "audit-key-0123456789", "subscribe": [">"]}
	]}`)
	e := newEnv(t, Config{Auth: newAuth(t, auth.Config{APIKeysFile: file}), HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)
	billing := bearer(ctx, "billing-key-0123456789")
	audit := bearer(ctx, "audit-key-0123456789")

	st, _ := subscribe(audit, t, c, &heraldv1.SubscribeRequest{Topics: []string{"orders.>"}})
	res := publish(billing, t, c, "orders.created", "order 1")
	if m := recvMessage(t, st); m.GetId() != res.GetId() {
		t.Errorf("received %v, want %s", m, res.GetId())
	}

	_, err := c.Publish(billing, &heraldv1.PublishRequest{Topic: "invoices"})
	wantStatus(t, err, codes.PermissionDenied, `api_key "billing" may not publish to "invoices"`)
	_, err = c.Publish(audit, &heraldv1.PublishRequest{Topic: "orders.created"})
	wantStatus(t, err, codes.PermissionDenied, `api_key "audit" may not publish`)
	_, err = c.Publish(bearer(ctx, "unknown-key-0123456789"), &heraldv1.PublishRequest{Topic: "orders.created"})
	wantStatus(t, err, codes.Unauthenticated, "unknown API key")
	err = subscribeErr(billing, t, c, "orders.>")
	wantStatus(t, err, codes.PermissionDenied, `api_key "billing" may not subscribe`)
}
