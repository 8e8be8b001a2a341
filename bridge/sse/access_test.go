package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/engine/enginetest"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/limits/limitstest"
	"github.com/heraldhq/herald/metrics"
)

// bearer is the Authorization header of tok.
func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// refusals reads the sse refusal counter of reason.
func (e *env) refusals(t testing.TB, reason string) float64 {
	t.Helper()
	return value(t, e.metrics.Refused.WithLabelValues(metrics.TransportSSE, reason))
}

func TestAccessRefusals(t *testing.T) {
	t.Parallel()
	logs := &testutil.Buffer{}
	e := newEnv(t, envOptions{cfg: Config{
		Auth:   authtest.New(t, auth.Config{}),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}})
	news := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news.>"}})
	forged := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{">"}, Secret: "another-secret-of-at-least-32-bytes!!"})
	expired := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{">"}, Expires: time.Now().Add(-time.Hour)})
	otherAud := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{">"}, Audience: "someone-else"})

	for _, tt := range []struct {
		name   string
		path   string
		header http.Header
		status int
		msg    string
		reason string
	}{
		{"no token", "/v1/sse?topic=news.a", nil, 401, "authentication required", refusal.Unauthenticated},
		{"not bearer", "/v1/sse?topic=news.a", http.Header{"Authorization": {"Basic " + news}}, 401, "Bearer", refusal.InvalidToken},
		{"bad signature", "/v1/sse?topic=news.a", bearer(forged), 401, "signature", refusal.InvalidToken},
		{"expired", "/v1/sse?topic=news.a", bearer(expired), 401, "expired", refusal.TokenExpired},
		{"wrong audience", "/v1/sse?topic=news.a", bearer(otherAud), 401, "audience", refusal.InvalidToken},
		{"topic outside the claim", "/v1/sse?topic=news.a&topic=secret", bearer(news), 403, `may not subscribe to "secret"`, refusal.PermissionDenied},
		{"wider pattern than the claim", "/v1/sse?topic=>", bearer(news), 403, `may not subscribe to ">"`, refusal.PermissionDenied},
		{"query token outside the claim", "/v1/sse?topic=secret&access_token=" + news, nil, 403, "secret", refusal.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.refusals(t, tt.reason)
			eb := e.refused(t, tt.path, tt.header, tt.status, tt.msg)
			wantCode := map[int]int{401: 16, 403: 7}[tt.status]
			if eb.Code != wantCode {
				t.Errorf("code %d, want %d", eb.Code, wantCode)
			}
			if got := e.refusals(t, tt.reason) - before; got != 1 {
				t.Errorf("%s refusals grew by %v, want 1", tt.reason, got)
			}
		})
	}
	// The refusals carry their challenge (set by gateway.WriteError, from
	// the refusal as it is).
	for _, tt := range []struct {
		header http.Header
		want   string
	}{
		{nil, "Bearer"},
		{bearer(forged), `Bearer error="invalid_token"`},
		{bearer(expired), `Bearer error="invalid_token"`},
	} {
		resp, _ := e.get(t, "/v1/sse?topic=news.a", tt.header)
		if got := resp.Header.Get("WWW-Authenticate"); got != tt.want {
			t.Errorf("WWW-Authenticate %q, want %q", got, tt.want)
		}
	}
	// A bad topic is still a bad request, once the credential verified.
	e.refused(t, "/v1/sse?topic=a..b", bearer(news), 400, "topics[0]")
	if got := e.subscriptions(t); got != 0 {
		t.Errorf("subscriptions gauge %v after refusals, want 0", got)
	}
	if strings.Contains(logs.String(), news) {
		t.Errorf("a token reached the logs:\n%s", logs)
	}
}

// TestUserTopics: a claim "user.{sub}" lets each user read their own topic
// and nobody else's.
func TestUserTopics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{Auth: authtest.New(t, auth.Config{})}})
	alice := bearer(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"user.{sub}"}}))

	e.refused(t, "/v1/sse?topic=user.bob", alice, 403, `token "alice" may not subscribe to "user.bob"`)
	e.refused(t, "/v1/sse?topic=user.*", alice, 403, "user.*")

	s := e.open(t, "/v1/sse?topic=user.alice", alice)
	s.subscribed(t)
	e.publish(t, "user.bob", "not for alice")
	id := e.publish(t, "user.alice", "for alice")
	s.message(t, id, "for alice")
}

// TestTokenSources: browsers cannot set headers on EventSource, so the
// cookie and the access_token query parameter carry the token too.
func TestTokenSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{Auth: authtest.New(t, auth.Config{})}})
	tok := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}})
	for name, open := range map[string]func() *eventStream{
		"cookie": func() *eventStream {
			return e.open(t, "/v1/sse?topic=news", http.Header{"Cookie": {auth.CookieName + "=" + tok}})
		},
		"query": func() *eventStream {
			return e.open(t, "/v1/sse?topic=news&"+auth.QueryParam+"="+url.QueryEscape(tok), nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := open()
			_, d := s.subscribed(t)
			if len(d.Topics) != 1 || d.Topics[0] != "news" {
				t.Fatalf("subscribed to %v, want [news]", d.Topics)
			}
			id := e.publish(t, "news", name)
			s.message(t, id, name)
			s.close()
		})
	}
}

// TestCookieNeedsATrustedOrigin: with "*" among the allowed origins, any
// site may open a stream, but the herald_token cookie, which the browser
// adds whatever page asks, is a credential only for the server's own
// origin and the origins listed; the header and the access_token query
// parameter, which the page must hold, are one for every origin.
func TestCookieNeedsATrustedOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{
		Auth:           authtest.New(t, auth.Config{}),
		AllowedOrigins: []string{"https://app.example.com", "*", "https://*.apps.example"},
	}})
	tok := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}})
	cookie := auth.CookieName + "=" + tok
	query := "/v1/sse?topic=news&" + auth.QueryParam + "=" + url.QueryEscape(tok)

	e.refused(t, "/v1/sse?topic=news", http.Header{"Origin": {"https://evil.example"}, "Cookie": {cookie}}, 401, "authentication required")
	e.refused(t, "/v1/sse?topic=news", http.Header{"Origin": {"null"}, "Cookie": {cookie}}, 401, "authentication required")
	for _, tt := range []struct {
		name   string
		path   string
		header http.Header
	}{
		{"other site, query", query, http.Header{"Origin": {"https://evil.example"}}},
		{"other site, query beside the cookie", query, http.Header{"Origin": {"https://evil.example"}, "Cookie": {cookie}}},
		{"other site, header", "/v1/sse?topic=news", http.Header{"Origin": {"https://evil.example"}, "Authorization": {"Bearer " + tok}}},
		{"listed origin, cookie", "/v1/sse?topic=news", http.Header{"Origin": {"https://app.example.com"}, "Cookie": {cookie}}},
		{"listed pattern, cookie", "/v1/sse?topic=news", http.Header{"Origin": {"https://a.apps.example"}, "Cookie": {cookie}}},
		{"same origin, cookie", "/v1/sse?topic=news", http.Header{"Origin": {e.base}, "Cookie": {cookie}}},
		{"no origin, cookie", "/v1/sse?topic=news", http.Header{"Cookie": {cookie}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := e.open(t, tt.path, tt.header)
			s.subscribed(t)
			s.close()
		})
	}
}

// TestAnonymousPatterns: with anonymous access allowed for some patterns,
// a client without a token reads those and is asked for a token for the
// rest, while a token holder reads both.
func TestAnonymousPatterns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{Auth: authtest.New(t, auth.Config{AllowAnonymous: []string{"public.>"}})}})
	s := e.open(t, "/v1/sse?topic=public.news", nil)
	s.subscribed(t)
	id := e.publish(t, "public.news", "for everyone")
	s.message(t, id, "for everyone")

	e.refused(t, "/v1/sse?topic=private", nil, 401, "anonymous clients may not subscribe")

	holder := bearer(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"private"}}))
	s = e.open(t, "/v1/sse?topic=private&topic=public.news", holder)
	s.subscribed(t)
}

// expiredEvent reads the rest of a stream and checks that it ended with a
// herald.error event with code token_expired, at or after exp. It returns
// the ids of the messages read meanwhile.
func (s *eventStream) expiredEvent(t testing.TB, exp time.Time) []string {
	t.Helper()
	frames := s.ended(t)
	if time.Now().Before(exp) {
		t.Fatalf("stream ended before the token's expiry %v", exp)
	}
	if len(frames) == 0 {
		t.Fatal("stream ended without a herald.error event")
	}
	last := frames[len(frames)-1]
	var d errorData
	if last.event != eventError || json.Unmarshal([]byte(last.data), &d) != nil || d.Code != refusal.TokenExpired ||
		!strings.Contains(d.Message, "fresh token") {
		t.Fatalf("last frame %+v, want a herald.error event with code token_expired", last)
	}
	var ids []string
	for _, f := range frames {
		if f.hasID && f.event == "" {
			ids = append(ids, f.id)
		}
	}
	return ids
}

func TestTokenExpiresMidStream(t *testing.T) {
	t.Parallel()
	for _, p := range []proto{http1, h2c} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{proto: p, cfg: Config{Auth: authtest.New(t, auth.Config{Leeway: -1})}})
			exp := authtest.Soon()
			s := e.open(t, "/v1/sse?topic=news", bearer(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}, Expires: exp})))
			s.subscribed(t)
			s.expiredEvent(t, exp)
			if got := e.refusals(t, refusal.TokenExpired); got != 1 {
				t.Errorf("token_expired refusals %v, want 1", got)
			}
			waitFor(t, testTimeout, "the stream to be freed", func() bool { return e.subscriptions(t) == 0 })
		})
	}
}

// TestNothingWrittenAfterTheEnd: a stream whose source always has a
// message ready still ends at its credential's expiry or at Shutdown, and
// writes no message handed out after that, only the herald.error event.
func TestNothingWrittenAfterTheEnd(t *testing.T) {
	t.Parallel()
	for _, p := range []proto{http1, h2c} {
		for _, end := range []string{refusal.TokenExpired, reasonGoingAway.code} {
			t.Run(string(p)+"/"+end, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, envOptions{proto: p, source: readySource{}, cfg: Config{
					Auth: authtest.New(t, auth.Config{Leeway: -1}),
				}})
				exp := time.Now().Add(time.Hour)
				if end == refusal.TokenExpired {
					exp = authtest.Soon()
				}
				s := e.open(t, "/v1/sse?topic=news", bearer(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}, Expires: exp})))
				s.subscribed(t)
				shut := make(chan error, 1)
				if end == reasonGoingAway.code {
					s.event(t) // messages flow
					go func() {
						ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
						defer cancel()
						shut <- e.h.Shutdown(ctx)
					}()
				} else {
					shut <- nil
				}
				live := 0
				for {
					f := s.next(t)
					if f.event == eventError {
						var d errorData
						if err := json.Unmarshal([]byte(f.data), &d); err != nil || d.Code != end {
							t.Fatalf("herald.error %q, want code %s", f.data, end)
						}
						break
					}
					if f.hasID && f.event == "" {
						if f.data != "live" {
							t.Fatalf("message %s went out after the stream's end", f.id)
						}
						live++
					}
				}
				if end == refusal.TokenExpired && (live == 0 || time.Now().Before(exp)) {
					t.Fatalf("%d messages before an end at %v, want some, and the end at the expiry %v", live, time.Now(), exp)
				}
				if rest := s.ended(t); len(rest) != 0 {
					t.Fatalf("frames after the herald.error event: %+v", rest)
				}
				if err := <-shut; err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			})
		}
	}
}

// TestResumeAfterExpiry: a client whose token expired reconnects with a
// fresh one and its last id, and gets every message published meanwhile,
// once and in order, while a publisher never stops.
func TestResumeAfterExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{Auth: authtest.New(t, auth.Config{Leeway: -1})}})
	claim := []string{"feed"}
	exp := authtest.Soon()
	s := e.open(t, "/v1/sse?topic=feed", bearer(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: claim, Expires: exp})))
	s.subscribed(t)

	ticker := enginetest.Tick(t, e.eng, "feed", []byte("tick"), 10*time.Millisecond)

	got := s.expiredEvent(t, exp)
	if len(got) == 0 {
		t.Fatal("no message arrived before the expiry")
	}
	// Messages go on being published while the client is away.
	waitFor(t, testTimeout, "messages published after the expiry", func() bool {
		return ticker.Count() >= len(got)+5
	})
	s = e.open(t, "/v1/sse?topic=feed", http.Header{
		"Authorization": {"Bearer " + authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: claim})},
		"Last-Event-Id": {got[len(got)-1]},
	})
	s.subscribed(t)
	published := ticker.Stop()
	final := e.publish(t, "feed", "final")
	for {
		f := s.event(t)
		got = append(got, f.id)
		if f.id == final.String() {
			break
		}
	}
	want := append(published, final.String())
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("received %d messages, want the %d published, in order:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
}

// TestConnectionLimits: a stream over the node's connection limit, or
// over its limit per client address, is refused with 429 and admitted
// again once a stream closes.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range limitstest.ConnectionCases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{cfg: Config{Limits: limits.New(tc.Config)}})
			s := e.open(t, "/v1/sse?topic=a", nil)
			s.subscribed(t)
			e.refused(t, "/v1/sse?topic=b", nil, 429, tc.Refusal)
			if got := e.refusals(t, refusal.TooManyConnections); got != 1 {
				t.Errorf("too_many_connections refusals %v, want 1", got)
			}

			s.close()
			var next *eventStream
			waitFor(t, testTimeout, "a connection admitted again", func() bool {
				resp, cancel := e.get(t, "/v1/sse?topic=b", nil)
				if resp.StatusCode == http.StatusOK {
					next = &eventStream{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
					return true
				}
				if resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("status %s, want 200 or 429", resp.Status)
				}
				cancel()
				_ = resp.Body.Close()
				return false
			})
			next.subscribed(t)
		})
	}
}

// TestSubscribeRateAndTopicLimits: the streams of one HTTP/2 connection
// share its subscribe rate; a stream may not name more topics than the
// limit.
func TestSubscribeRateAndTopicLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{proto: h2c, cfg: Config{Limits: limits.New(limits.Config{
		SubscribeRate: 0.01, SubscribeBurst: 2, MaxTopics: 2,
	})}})
	e.refused(t, "/v1/sse?topic=a&topic=b&topic=c", nil, 429, "3 topics on one connection; the limit is 2")
	if got := e.refusals(t, refusal.TooManyTopics); got != 1 {
		t.Errorf("too_many_topics refusals %v, want 1", got)
	}
	// The refusal above came before the rate took a request: the burst of
	// two is whole.
	e.open(t, "/v1/sse?topic=a", nil).subscribed(t)
	e.open(t, "/v1/sse?topic=a&topic=b", nil).subscribed(t)
	resp, _ := e.get(t, "/v1/sse?topic=a", nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s with Retry-After %q, want 429 with a Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	eb := e.refused(t, "/v1/sse?topic=a", nil, 429, "subscribe rate limit")
	if !strings.Contains(fmt.Sprintf("%s", eb.Details), "google.rpc.RetryInfo") {
		t.Errorf("details %s, want a RetryInfo", eb.Details)
	}
	if got := e.refusals(t, refusal.RateLimited); got != 2 {
		t.Errorf("rate_limited refusals %v, want 1", got)
	}
}
