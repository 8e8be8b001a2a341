package server

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/refusal"
)

// A stream ends when its token expires, with UNAUTHENTICATED that tells
// the client to come back with a fresh token; it resumes from its last id
// without losing a message.
func TestTokenExpiresMidStream(t *testing.T) {
	t.Parallel()
	// No leeway: the stream must end at exp, one to two seconds ahead.
	a := newAuth(t, auth.Config{Leeway: -1})
	e := newEnv(t, Config{Auth: a, HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)
	reader := authtest.Grant{Sub: "alice", Expires: authtest.Soon(), Subscribe: []string{"news"}}
	exp := reader.Expires // the token's exp
	short := authtest.Mint(t, reader)
	publisher := bearer(ctx, authtest.Mint(t, authtest.Grant{Sub: "editor", Publish: []string{"news"}}))

	st, _ := subscribe(bearer(ctx, short), t, c, &heraldv1.SubscribeRequest{Topics: []string{"news"}})
	first := publish(publisher, t, c, "news", "before expiry")
	if m := recvMessage(t, st); m.GetId() != first.GetId() {
		t.Fatalf("received %v, want %s", m, first.GetId())
	}
	msgs, err := recvUntilError(st)
	ended := time.Now()
	wantStatus(t, err, codes.Unauthenticated, "token expired: reconnect with a fresh token and resume from the last event id")
	if got := reasonOf(err); got != refusal.TokenExpired {
		t.Errorf("reason %q, want %q", got, refusal.TokenExpired)
	}
	if len(msgs) != 0 {
		t.Errorf("received %v after the first message, want nothing", msgs)
	}
	if ended.Before(exp) {
		t.Errorf("stream ended at %v, before the token expired at %v", ended, exp)
	}
	if got := e.refused(t, refusal.TokenExpired); got != 1 {
		t.Errorf("refused{token_expired} = %v, want 1", got)
	}
	waitFor(t, testTimeout, "the subscription to be released", func() bool {
		return value(t, e.met.Transport("grpc").Subscriptions) == 0 && e.srv.cfg.Limits.Connections() == 0
	})

	// The same token is refused now; a fresh one resumes after the last id.
	err = subscribeErr(bearer(ctx, short), t, c, "news")
	wantStatus(t, err, codes.Unauthenticated, "token expired")
	missed := publish(publisher, t, c, "news", "while away")
	reader.Expires = time.Now().Add(time.Hour)
	st, _ = subscribe(bearer(ctx, authtest.Mint(t, reader)), t, c, &heraldv1.SubscribeRequest{
		Topics: []string{"news"}, LastEventId: first.GetId(),
	})
	if m := recvMessage(t, st); m.GetId() != missed.GetId() {
		t.Errorf("resumed with %v, want %s", m, missed.GetId())
	}
}

// A token that the leeway still admits but whose exp has passed can
// neither open a stream, which would have to end at once, nor publish:
// both are refused as expired, as the token is everywhere else.
func TestExpiredWithinLeeway(t *testing.T) {
	t.Parallel()
	a := newAuth(t, auth.Config{Leeway: time.Minute})
	e := newEnv(t, Config{Auth: a, HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := bearer(testContext(t), authtest.Mint(t, authtest.Grant{Sub: "alice", Expires: time.Now().Add(-2 * time.Second),
		Subscribe: []string{"news"}, Publish: []string{"news"}}))
	c := e.client(t)

	err := subscribeErr(ctx, t, c, "news")
	wantStatus(t, err, codes.Unauthenticated, "token expired")
	if got := reasonOf(err); got != refusal.TokenExpired {
		t.Errorf("subscribe: reason %q, want %q", got, refusal.TokenExpired)
	}
	_, err = c.Publish(ctx, &heraldv1.PublishRequest{Topic: "news", Data: []byte("within the leeway")})
	wantStatus(t, err, codes.Unauthenticated, "token expired")
	if got := reasonOf(err); got != refusal.TokenExpired {
		t.Errorf("publish: reason %q, want %q", got, refusal.TokenExpired)
	}
	if got := e.refused(t, refusal.TokenExpired); got != 2 {
		t.Errorf("refused{token_expired} = %v, want 2", got)
	}
	if n := value(t, e.met.Transport("grpc").Published); n != 0 {
		t.Errorf("published = %v, want nothing published", n)
	}
}
