package ws

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/engine/enginetest"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/limits/limitstest"
)

// withToken is the dial option that sends tok as a bearer token.
func withToken(tok string) dialOpts {
	return dialOpts{header: http.Header{"Authorization": {"Bearer " + tok}}}
}

// wantDenied checks that a handshake was refused with status and the JSON
// error body with code and a message containing msg. Unlike wantRefused,
// it admits details (a refusal may carry ErrorInfo and RetryInfo).
func wantDenied(t *testing.T, resp *http.Response, err error, status, code int, msg string) {
	t.Helper()
	body := refusedBody(t, resp, err, status)
	var eb struct {
		Code    *int              `json:"code"`
		Message string            `json:"message"`
		Details []json.RawMessage `json:"details"`
	}
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/json" ||
		json.Unmarshal(body, &eb) != nil || eb.Code == nil || *eb.Code != code ||
		!strings.Contains(eb.Message, msg) || eb.Details == nil {
		t.Fatalf("%s %q %s, want %d with a JSON error with code %d and a message containing %q",
			resp.Status, resp.Header.Get("Content-Type"), body, status, code, msg)
	}
}

// authEnv is an env whose handler requires the tests' tokens.
func authEnv(t testing.TB, a auth.Config, l limits.Config) *env {
	t.Helper()
	return newEnv(t, envConfig{ws: Config{Auth: authtest.New(t, a), Limits: limits.New(l)}})
}

func TestHandshakeAccessRefusals(t *testing.T) {
	t.Parallel()
	e := authEnv(t, auth.Config{}, limits.Config{})
	news := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news.>"}})
	forged := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{">"}, Secret: "another-secret-of-at-least-32-bytes!!"})
	expired := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{">"}, Expires: time.Now().Add(-time.Hour)})
	otherAud := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{">"}, Audience: "someone-else"})

	for _, tt := range []struct {
		name   string
		query  string
		opts   dialOpts
		status int
		code   int
		msg    string
		reason string
	}{
		{"no token", "?topic=news.a", dialOpts{}, 401, 16, "authentication required", refusal.Unauthenticated},
		{"no token, no topic", "", dialOpts{}, 401, 16, "authentication required", refusal.Unauthenticated},
		{"bad signature", "?topic=news.a", withToken(forged), 401, 16, "signature", refusal.InvalidToken},
		{"expired", "?topic=news.a", withToken(expired), 401, 16, "expired", refusal.TokenExpired},
		{"wrong audience", "?topic=news.a", withToken(otherAud), 401, 16, "audience", refusal.InvalidToken},
		{"topic outside the claim", "?topic=news.a&topic=secret", withToken(news), 403, 7, `may not subscribe to "secret"`, refusal.PermissionDenied},
		{"query token outside the claim", "?topic=secret&access_token=" + news, dialOpts{}, 403, 7, "secret", refusal.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.refused(t, tt.reason)
			_, resp, err := e.tryDial(t, tt.query, tt.opts)
			wantDenied(t, resp, err, tt.status, tt.code, tt.msg)
			if tt.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", resp.Header.Get("WWW-Authenticate"))
			}
			if got := e.refused(t, tt.reason) - before; got != 1 {
				t.Errorf("%s refusals grew by %v, want 1", tt.reason, got)
			}
		})
	}
	_, resp, err := e.tryDial(t, "?topic=a..b", withToken(news))
	wantDenied(t, resp, err, 400, 3, "topics[0]")

	// A connection opened with the token in the query: the token reaches
	// neither the logs nor the frames.
	c := e.dial(t, "?topic=news.a&access_token="+url.QueryEscape(news))
	f := expect(t, c, "subscribed")
	if strings.Contains(string(f.raw), news) {
		t.Errorf("the token came back in %s", f.raw)
	}
	_ = c.Close()
	e.waitClosed(t)
	if strings.Contains(e.logs.String(), news) {
		t.Errorf("a token reached the logs:\n%s", e.logs)
	}
	if got := e.subscriptions(t); got != 0 {
		t.Errorf("subscriptions gauge %v, want 0", got)
	}
}

// TestHandshakeUserTopics: a claim "user.{sub}" lets each user read their
// own topic and nobody else's.
func TestHandshakeUserTopics(t *testing.T) {
	t.Parallel()
	e := authEnv(t, auth.Config{}, limits.Config{})
	alice := withToken(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"user.{sub}"}}))
	_, resp, err := e.tryDial(t, "?topic=user.bob", alice)
	wantDenied(t, resp, err, 403, 7, `token "alice" may not subscribe to "user.bob"`)

	c := e.dial(t, "?topic=user.alice", alice)
	expect(t, c, "subscribed")
	e.publish(t, "user.bob", "not for alice")
	id := e.publish(t, "user.alice", "for alice").ID.String()
	if f := expect(t, c, "message"); f.msgID() != id {
		t.Fatalf("got %s, want message %s", f.raw, id)
	}
}

// TestHandshakeTokenSources: browsers cannot set headers on a WebSocket
// handshake, so the cookie and the access_token query parameter carry the
// token too.
func TestHandshakeTokenSources(t *testing.T) {
	t.Parallel()
	e := authEnv(t, auth.Config{}, limits.Config{})
	tok := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}})
	for name, dial := range map[string]func() *websocket.Conn{
		"cookie": func() *websocket.Conn {
			return e.dial(t, "?topic=news", dialOpts{header: http.Header{"Cookie": {auth.CookieName + "=" + tok}}})
		},
		"query": func() *websocket.Conn {
			return e.dial(t, "?topic=news&"+auth.QueryParam+"="+url.QueryEscape(tok))
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := dial()
			expect(t, c, "subscribed")
			id := e.publish(t, "news", name).ID.String()
			if f := expect(t, c, "message"); f.msgID() != id {
				t.Fatalf("got %s, want message %s", f.raw, id)
			}
		})
	}
}

// TestCookieNeedsATrustedOrigin: with "*" among the allowed origins, any
// site may connect, but the herald_token cookie, which the browser adds
// to a handshake whatever page asks, is a credential only for the
// server's own origin and the origins listed; the header and the
// access_token query parameter, which the page must hold, are one for
// every origin. Otherwise any site could read the user's stream.
func TestCookieNeedsATrustedOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{ws: Config{
		Auth:           authtest.New(t, auth.Config{}),
		AllowedOrigins: []string{"https://app.example.com", "*", "https://*.apps.example"},
	}})
	tok := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}})
	cookie := auth.CookieName + "=" + tok
	query := "?topic=news&" + auth.QueryParam + "=" + url.QueryEscape(tok)

	for _, origin := range []string{"https://evil.example", "null"} {
		_, resp, err := e.tryDial(t, "?topic=news", dialOpts{header: http.Header{"Origin": {origin}, "Cookie": {cookie}}})
		wantDenied(t, resp, err, 401, 16, "authentication required")
	}
	for _, tt := range []struct {
		name   string
		query  string
		header http.Header
	}{
		{"other site, query", query, http.Header{"Origin": {"https://evil.example"}}},
		{"other site, query beside the cookie", query, http.Header{"Origin": {"https://evil.example"}, "Cookie": {cookie}}},
		{"other site, header", "?topic=news", http.Header{"Origin": {"https://evil.example"}, "Authorization": {"Bearer " + tok}}},
		{"listed origin, cookie", "?topic=news", http.Header{"Origin": {"https://app.example.com"}, "Cookie": {cookie}}},
		{"listed pattern, cookie", "?topic=news", http.Header{"Origin": {"https://a.apps.example"}, "Cookie": {cookie}}},
		{"same origin, cookie", "?topic=news", http.Header{"Origin": {e.srv.URL}, "Cookie": {cookie}}},
		{"no origin, cookie", "?topic=news", http.Header{"Cookie": {cookie}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t, tt.query, dialOpts{header: tt.header})
			expect(t, c, "subscribed")
			_ = c.Close()
		})
	}
}

// TestAnonymousPatterns: with anonymous access allowed for some patterns,
// a client without a token reads those and is asked for a token for the
// rest, at the handshake and in subscribe frames.
func TestAnonymousPatterns(t *testing.T) {
	t.Parallel()
	e := authEnv(t, auth.Config{AllowAnonymous: []string{"public.>"}}, limits.Config{})
	_, resp, err := e.tryDial(t, "?topic=private")
	wantDenied(t, resp, err, 401, 16, "anonymous clients may not subscribe")

	c := e.dial(t, "?topic=public.news")
	expect(t, c, "subscribed")
	send(t, c, `{"type":"subscribe","topics":["private"],"id":1}`)
	if f := expect(t, c, "error"); f.Code != "unauthenticated" || f.Reason != refusal.Unauthenticated || string(f.ID) != "1" {
		t.Fatalf("got %s, want an unauthenticated error", f.raw)
	}
	id := e.publish(t, "public.news", "for everyone").ID.String()
	if f := expect(t, c, "message"); f.msgID() != id {
		t.Fatalf("got %s, want message %s", f.raw, id)
	}
}

// wantExpired reads c until it closes and checks the close is 4001
// token_expired, at or after exp. It returns the ids of the messages read
// meanwhile.
func wantExpired(t testing.TB, c *websocket.Conn, exp time.Time) []string {
	t.Helper()
	frames, err := readUntilClose(c)
	if time.Now().Before(exp) {
		t.Fatalf("connection closed before the token's expiry %v: %v", exp, err)
	}
	wantClose(t, err, CloseTokenExpired, "token_expired")
	var ids []string
	for _, f := range frames {
		if f.Type == "message" {
			ids = append(ids, f.msgID())
		}
	}
	return ids
}

func TestTokenExpiresMidConnection(t *testing.T) {
	t.Parallel()
	e := authEnv(t, auth.Config{Leeway: -1}, limits.Config{})
	for _, query := range []string{"?topic=news", ""} {
		exp := authtest.Soon()
		c := e.dial(t, query, withToken(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}, Expires: exp})))
		wantExpired(t, c, exp)
	}
	e.waitClosed(t)
	if got := e.refused(t, refusal.TokenExpired); got != 2 {
		t.Errorf("token_expired refusals %v, want 2", got)
	}
}

// TestNothingWrittenAfterTheEnd: a message that the source hands out as
// the connection ends, at its credential's expiry or at Shutdown, is not
// written: the close frame follows the messages handed out before. With
// coalescing off and keepalives an hour apart, only the end ends the
// writer's wait.
func TestNothingWrittenAfterTheEnd(t *testing.T) {
	t.Parallel()
	for _, end := range []string{refusal.TokenExpired, discShutdown.label} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			src := waitingSource{ready: 3, waiting: make(chan struct{}, 1)}
			e := newEnv(t, envConfig{src: src, ws: Config{
				Auth:              authtest.New(t, auth.Config{Leeway: -1}),
				HeartbeatInterval: time.Hour,
				CoalesceWindow:    -1,
			}})
			exp := time.Now().Add(time.Hour)
			if end == refusal.TokenExpired {
				exp = authtest.Soon()
			}
			c := e.dial(t, "?topic=news", withToken(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}, Expires: exp})))
			expect(t, c, "subscribed")
			for range 3 {
				if f := expect(t, c, "message"); f.Data == nil || *f.Data != "ready" {
					t.Fatalf("got %s, want a ready message", f.raw)
				}
			}
			select {
			case <-src.waiting:
			case <-time.After(testTimeout):
				t.Fatal("the writer never waited for a fourth message")
			}
			shut := make(chan error, 1)
			if end == discShutdown.label {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
					defer cancel()
					shut <- e.h.Shutdown(ctx)
				}()
			} else {
				shut <- nil
			}
			frames, err := readUntilClose(c)
			for _, f := range frames {
				if f.Type == "message" {
					t.Fatalf("message %s went out after the connection's end", f.raw)
				}
			}
			if end == refusal.TokenExpired {
				wantClose(t, err, CloseTokenExpired, "token_expired")
			} else {
				wantClose(t, err, websocket.CloseGoingAway, "shutting down")
			}
			if err := <-shut; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		})
	}
}

// TestResumeAfterExpiry: a client whose token expired reconnects with a
// fresh one and its last id, and gets every message published meanwhile,
// once and in order, while a publisher never stops.
func TestResumeAfterExpiry(t *testing.T) {
	t.Parallel()
	e := authEnv(t, auth.Config{Leeway: -1}, limits.Config{})
	claim := []string{"feed"}
	exp := authtest.Soon()
	c := e.dial(t, "?topic=feed", withToken(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: claim, Expires: exp})))
	expect(t, c, "subscribed")

	ticker := enginetest.Tick(t, e.eng, "feed", []byte("tick"), 10*time.Millisecond)

	got := wantExpired(t, c, exp)
	if len(got) == 0 {
		t.Fatal("no message arrived before the expiry")
	}
	waitFor(t, testTimeout, "messages published after the expiry", func() bool {
		return ticker.Count() >= len(got)+5
	})
	c = e.dial(t, "?topic=feed&last_event_id="+got[len(got)-1], withToken(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: claim})))
	expect(t, c, "subscribed")
	published := ticker.Stop()
	final := e.publish(t, "feed", "final").ID.String()
	for {
		f := expect(t, c, "message")
		got = append(got, f.msgID())
		if f.msgID() == final {
			break
		}
	}
	want := append(published, final)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("received %d messages, want the %d published, in order:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
}

// TestConnectionLimits: a handshake over the node's connection limit, or
// over its limit per client address, is refused with 429, keeps no
// subscription, and is admitted again once a connection closes.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range limitstest.ConnectionCases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{ws: Config{Limits: limits.New(tc.Config)}})
			c := e.dial(t, "")
			_, resp, err := e.tryDial(t, "?topic=a")
			wantDenied(t, resp, err, 429, 8, tc.Refusal)
			if got := e.refused(t, refusal.TooManyConnections); got != 1 {
				t.Errorf("too_many_connections refusals %v, want 1", got)
			}
			if got := e.subscriptions(t); got != 0 {
				t.Errorf("subscriptions gauge %v: a refused handshake kept its subscription", got)
			}
			_ = c.Close()
			waitFor(t, testTimeout, "a connection admitted again", func() bool {
				c, resp, err := e.tryDial(t, "?topic=a")
				if err == nil {
					expect(t, c, "subscribed")
					return true
				}
				if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("dial: %v, want success or 429", err)
				}
				_ = resp.Body.Close()
				return false
			})
		})
	}
}

// TestSubscribeFrameOutsideClaim: a subscribe frame for a topic outside
// the claims gets an error frame and changes nothing; the connection goes
// on, until a client that keeps asking is closed.
func TestSubscribeFrameOutsideClaim(t *testing.T) {
	t.Parallel()
	e := authEnv(t, auth.Config{}, limits.Config{})
	c := e.dial(t, "?topic=news.a", withToken(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news.>"}})))
	expect(t, c, "subscribed")

	send(t, c, `{"type":"subscribe","topics":["news.b","secret"],"id":"s"}`)
	f := expect(t, c, "error")
	if f.Code != "permission_denied" || f.Reason != refusal.PermissionDenied || string(f.ID) != `"s"` ||
		!strings.Contains(f.Message, `may not subscribe to "secret"`) {
		t.Fatalf("got %s, want a permission_denied error", f.raw)
	}
	e.publish(t, "news.b", "not subscribed")
	id := e.publish(t, "news.a", "still subscribed").ID.String()
	if f := expect(t, c, "message"); f.msgID() != id {
		t.Fatalf("got %s, want message %s", f.raw, id)
	}
	send(t, c, `{"type":"subscribe","topics":["news.b"]}`)
	if f := expect(t, c, "subscribed"); strings.Join(f.Topics, " ") != "news.a news.b" {
		t.Fatalf("got %s, want topics news.a and news.b", f.raw)
	}
	if got := e.refused(t, refusal.PermissionDenied); got != 1 {
		t.Errorf("permission_denied refusals %v, want 1", got)
	}

	for range maxStrikes - 1 {
		send(t, c, `{"type":"subscribe","topics":[">"]}`)
	}
	frames, err := readUntilClose(c)
	wantClose(t, err, websocket.ClosePolicyViolation, "too many refused requests")
	if len(frames) != maxStrikes-1 || frames[0].Type != "error" {
		t.Errorf("got %d frames before the close, want %d errors", len(frames), maxStrikes-1)
	}
}

func TestSubscribeRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{ws: Config{Limits: limits.New(limits.Config{SubscribeRate: 0.01, SubscribeBurst: 2})}})
	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	send(t, c, `{"type":"subscribe","topics":["b"]}`)
	expect(t, c, "subscribed")
	send(t, c, `{"type":"unsubscribe","topics":["b"]}`)
	expect(t, c, "subscribed")
	for _, frame := range []string{
		`{"type":"subscribe","topics":["c"],"id":7}`,
		`{"type":"unsubscribe","topics":["a"],"id":7}`,
	} {
		send(t, c, frame)
		f := expect(t, c, "error")
		if f.Code != "resource_exhausted" || f.Reason != refusal.RateLimited || string(f.ID) != "7" ||
			f.RetryAfterMS == nil || *f.RetryAfterMS < 1000 {
			t.Fatalf("got %s, want a rate_limited error with retry_after_ms", f.raw)
		}
	}
	// Refused requests change nothing and cost no strike: the connection
	// goes on.
	e.publish(t, "c", "not subscribed")
	id := e.publish(t, "a", "still subscribed").ID.String()
	if f := expect(t, c, "message"); f.msgID() != id {
		t.Fatalf("got %s, want message %s", f.raw, id)
	}
	send(t, c, `{"type":"ping","id":1}`)
	expect(t, c, "pong")
	if got := e.refused(t, refusal.RateLimited); got != 2 {
		t.Errorf("rate_limited refusals %v, want 2", got)
	}
}

// TestTopicsPerConnection: the topic limit counts every topic the
// connection holds, over the handshake and all its subscribe frames.
func TestTopicsPerConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{ws: Config{Limits: limits.New(limits.Config{MaxTopics: 2})}})
	_, resp, err := e.tryDial(t, "?topic=a&topic=b&topic=c")
	wantDenied(t, resp, err, 429, 8, "3 topics on one connection; the limit is 2")

	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	send(t, c, `{"type":"subscribe","topics":["b","a"]}`)
	expect(t, c, "subscribed")
	send(t, c, `{"type":"subscribe","topics":["c"],"id":"c"}`)
	if f := expect(t, c, "error"); f.Code != "resource_exhausted" || f.Reason != refusal.TooManyTopics || f.RetryAfterMS != nil {
		t.Fatalf("got %s, want a too_many_topics error", f.raw)
	}
	// Topics held again count once; a topic dropped makes room.
	send(t, c, `{"type":"subscribe","topics":["a"]}`)
	if f := expect(t, c, "subscribed"); strings.Join(f.Topics, " ") != "a b" {
		t.Fatalf("got %s, want topics a and b", f.raw)
	}
	send(t, c, `{"type":"unsubscribe","topics":["a"]}`)
	expect(t, c, "subscribed")
	send(t, c, `{"type":"subscribe","topics":["c"]}`)
	if f := expect(t, c, "subscribed"); strings.Join(f.Topics, " ") != "b c" {
		t.Fatalf("got %s, want topics b and c", f.raw)
	}
	if got := e.refused(t, refusal.TooManyTopics); got != 2 {
		t.Errorf("too_many_topics refusals %v, want 2", got)
	}
}

// TestAuthFrameExtendsExpiry: an auth frame with a fresh token moves the
// connection's expiry, so it outlives its first token.
func TestAuthFrameExtendsExpiry(t *testing.T) {
	t.Parallel()
	e := authEnv(t, auth.Config{Leeway: -1}, limits.Config{})
	claim := []string{"news"}
	exp := authtest.Soon()
	c := e.dial(t, "?topic=news", withToken(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: claim, Expires: exp})))
	expect(t, c, "subscribed")

	exp2 := time.Now().Add(time.Hour).Truncate(time.Second)
	send(t, c, `{"type":"auth","token":"`+authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: claim, Expires: exp2})+`","id":"r"}`)
	f := expect(t, c, "authenticated")
	if f.ExpiresAt != exp2.UTC().Format(time.RFC3339) || string(f.ID) != `"r"` {
		t.Fatalf("got %s, want expires_at %s", f.raw, exp2.UTC().Format(time.RFC3339))
	}
	// Past the first token's expiry, the connection still delivers.
	time.Sleep(time.Until(exp) + 500*time.Millisecond)
	id := e.publish(t, "news", "after the first expiry").ID.String()
	if f := expect(t, c, "message"); f.msgID() != id {
		t.Fatalf("got %s, want message %s", f.raw, id)
	}
	if got := e.refused(t, refusal.TokenExpired); got != 0 {
		t.Errorf("token_expired refusals %v, want 0", got)
	}
}

// TestAuthFrameRefusals: a credential that does not verify, or that does
// not cover the topics the connection holds, is refused with an error
// frame, and the connection keeps the identity it had.
func TestAuthFrameRefusals(t *testing.T) {
	t.Parallel()
	e := authEnv(t, auth.Config{}, limits.Config{})
	c := e.dial(t, "?topic=news", withToken(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}})))
	expect(t, c, "subscribed")
	for _, tt := range []struct {
		frame  string
		code   string
		reason string
		msg    string
	}{
		{`{"type":"auth","id":1}`, "invalid_argument", "", "needs a token"},
		{`{"type":"auth","token":"` + authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}, Secret: "another-secret-of-at-least-32-bytes!!"}) + `","id":1}`,
			"unauthenticated", refusal.InvalidToken, "signature"},
		{`{"type":"auth","token":"` + authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}, Expires: time.Now().Add(-time.Hour)}) + `","id":1}`,
			"unauthenticated", refusal.TokenExpired, "expired"},
		{`{"type":"auth","token":"` + authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"other"}}) + `","id":1}`,
			"permission_denied", refusal.PermissionDenied, `may not subscribe to "news"`},
	} {
		send(t, c, tt.frame)
		f := expect(t, c, "error")
		if f.Code != tt.code || f.Reason != tt.reason || !strings.Contains(f.Message, tt.msg) || string(f.ID) != "1" {
			t.Fatalf("%s: got %s, want code %s, reason %q, a message containing %q", tt.frame, f.raw, tt.code, tt.reason, tt.msg)
		}
		if strings.Contains(string(f.raw), "eyJ") {
			t.Errorf("the error frame echoes the token: %s", f.raw)
		}
	}
	// The token that claimed "other" was not taken.
	send(t, c, `{"type":"subscribe","topics":["other"]}`)
	if f := expect(t, c, "error"); f.Code != "permission_denied" {
		t.Fatalf("got %s, want permission_denied: the refused token must not be the connection's", f.raw)
	}
	if strings.Contains(e.logs.String(), "eyJ") {
		t.Errorf("a token reached the logs:\n%s", e.logs)
	}
}

// TestOpenServer: with no authenticator every client may subscribe to
// anything, and an auth frame is answered without an expiry.
func TestOpenServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=%3E")
	expect(t, c, "subscribed")
	send(t, c, `{"type":"auth","token":"anything"}`)
	if f := expect(t, c, "authenticated"); f.ExpiresAt != "" || f.ID != nil {
		t.Fatalf("got %s, want authenticated without expiry", f.raw)
	}
}
