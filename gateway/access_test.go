package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/test/bufconn"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/engine/memory"
	"github.com/heraldhq/herald/gateway"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/server"
)

// newHeraldFixture puts the gateway in front of Herald's own gRPC server,
// configured with cfg, on a memory engine, reached in-process and checking
// credentials with the server's authenticator, as a node does.
func newHeraldFixture(t *testing.T, cfg server.Config) *fixture {
	t.Helper()
	eng := memory.New(memory.Options{})
	srv := server.New(eng, cfg)
	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	srv.SetServing()
	return startGateway(t, lis, gateway.Config{Auth: cfg.Auth}, func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v", err)
		}
		_ = eng.Close()
	})
}

// wantRefusal checks a refusal answer: HTTP status, the JSON error (at the
// top level, or under "error" for a subscribe stream) with its gRPC code
// and an ErrorInfo detail naming reason, and the headers a refusal of that
// status carries.
func wantRefusal(t *testing.T, resp *http.Response, body []byte, httpStatus int, code codes.Code, reason string) {
	t.Helper()
	v := errorObject(t, resp, body, httpStatus)
	if e, ok := v["error"].(map[string]any); ok {
		v = e
	}
	wantStatusObject(t, v, code, reason)
	switch challenge := resp.Header.Get("WWW-Authenticate"); {
	case httpStatus != http.StatusUnauthorized && challenge != "":
		t.Errorf("WWW-Authenticate = %q on a %d", challenge, httpStatus)
	case httpStatus != http.StatusUnauthorized:
	case reason == refusal.InvalidToken || reason == refusal.TokenExpired:
		if challenge != `Bearer error="invalid_token"` {
			t.Errorf(`WWW-Authenticate = %q, want Bearer error="invalid_token"`, challenge)
		}
	case challenge != "Bearer":
		t.Errorf("WWW-Authenticate = %q, want Bearer", challenge)
	}
}

// wantStatusObject checks a JSON status object: its code, a message, and an
// ErrorInfo detail naming reason.
func wantStatusObject(t *testing.T, v map[string]any, code codes.Code, reason string) {
	t.Helper()
	if got, _ := v["code"].(float64); codes.Code(got) != code {
		t.Errorf("code = %v, want %d (%v)", v["code"], code, v)
	}
	if msg, _ := v["message"].(string); msg == "" {
		t.Errorf("message = %v, want a non-empty string", v["message"])
	}
	details, _ := v["details"].([]any)
	for _, d := range details {
		if m, _ := d.(map[string]any); m["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			if m["reason"] != strings.ToUpper(reason) || m["domain"] != refusal.Domain {
				t.Errorf("ErrorInfo = %v, want reason %q domain %q", m, strings.ToUpper(reason), refusal.Domain)
			}
			return
		}
	}
	t.Errorf("details = %v, want an ErrorInfo naming %q", details, reason)
}

func TestRefusalsOverHTTP(t *testing.T) {
	t.Parallel()
	f := newHeraldFixture(t, server.Config{
		Auth: authtest.New(t, auth.Config{}),
		// One publish per 100 seconds: the second is refused however slow
		// the machine.
		Limits:            limits.New(limits.Config{PublishRate: 0.01, PublishBurst: 1, MaxTopics: 2}),
		HeartbeatInterval: time.Hour,
	})
	news := []string{"news.>"}
	alice := "Bearer " + authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: news, Publish: news})
	forged := "Bearer " + authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: news, Publish: news, Secret: "another-secret-of-at-least-32-bytes!!"})
	expired := "Bearer " + authtest.Mint(t, authtest.Grant{Sub: "alice", Expires: time.Now().Add(-time.Hour), Subscribe: news, Publish: news})
	otherAudience := "Bearer " + authtest.Mint(t, authtest.Grant{Sub: "alice", Audience: "another-service", Subscribe: news, Publish: news})
	ownTopic := "Bearer " + authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"user.{sub}"}})

	publishJSON := func(topic string) (string, string) {
		return "/v1/publish", `{"topic":"` + topic + `","data":"aGk="}`
	}
	publishRaw := func(topic string) (string, string) { return "/v1/topics/" + topic, "hi" }
	for _, route := range []struct {
		name string
		req  func(topic string) (path, body string)
	}{{"json", publishJSON}, {"raw", publishRaw}} {
		for _, tc := range []struct {
			name          string
			authorization string
			topic         string
			status        int
			code          codes.Code
			reason        string
		}{
			{"no credential", "", "news.a", 401, codes.Unauthenticated, refusal.Unauthenticated},
			{"not a bearer", "Basic dXNlcjpwdw==", "news.a", 401, codes.Unauthenticated, refusal.InvalidToken},
			{"forged", forged, "news.a", 401, codes.Unauthenticated, refusal.InvalidToken},
			{"expired", expired, "news.a", 401, codes.Unauthenticated, refusal.TokenExpired},
			{"outside the claim", alice, "sports", 403, codes.PermissionDenied, refusal.PermissionDenied},
		} {
			path, body := route.req(tc.topic)
			header := map[string]string{"Content-Type": "application/json"}
			if tc.authorization != "" {
				header["Authorization"] = tc.authorization
			}
			resp, got := f.do(t, f.request(t, http.MethodPost, path, strings.NewReader(body), header))
			wantRefusal(t, resp, got, tc.status, tc.code, tc.reason)
		}
	}

	// Alice's one publish; then both routes are over her rate.
	path, body := publishJSON("news.a")
	header := map[string]string{"Authorization": alice, "Content-Type": "application/json"}
	if resp, got := f.do(t, f.request(t, http.MethodPost, path, strings.NewReader(body), header)); resp.StatusCode != http.StatusOK {
		t.Fatalf("first publish: %d %s", resp.StatusCode, got)
	}
	for _, req := range []func(string) (string, string){publishJSON, publishRaw} {
		path, body := req("news.a")
		resp, got := f.do(t, f.request(t, http.MethodPost, path, strings.NewReader(body), header))
		wantRefusal(t, resp, got, http.StatusTooManyRequests, codes.ResourceExhausted, refusal.RateLimited)
		// About 100s until the next token; a slow machine may have
		// earned a second of it.
		if ra := resp.Header.Get("Retry-After"); ra != "100" && ra != "99" {
			t.Errorf("Retry-After = %q, want 100 (seconds, rounded up)", ra)
		}
	}

	// Refused subscriptions carry the same statuses and headers.
	for _, tc := range []struct {
		name          string
		authorization string
		query         string
		status        int
		code          codes.Code
		reason        string
	}{
		{"no credential", "", "topics=news.a", 401, codes.Unauthenticated, refusal.Unauthenticated},
		{"expired", expired, "topics=news.a", 401, codes.Unauthenticated, refusal.TokenExpired},
		{"forged", forged, "topics=news.a", 401, codes.Unauthenticated, refusal.InvalidToken},
		{"wrong audience", otherAudience, "topics=news.a", 401, codes.Unauthenticated, refusal.InvalidToken},
		{"outside the claim", alice, "topics=sports", 403, codes.PermissionDenied, refusal.PermissionDenied},
		{"another user's topic", ownTopic, "topics=user.bob", 403, codes.PermissionDenied, refusal.PermissionDenied},
		{"too many topics", alice, "topics=news.a&topics=news.b&topics=news.c", 429, codes.ResourceExhausted, refusal.TooManyTopics},
	} {
		header := map[string]string{}
		if tc.authorization != "" {
			header["Authorization"] = tc.authorization
		}
		resp, got := f.do(t, f.request(t, http.MethodGet, "/v1/subscribe?"+tc.query, nil, header))
		wantRefusal(t, resp, got, tc.status, tc.code, tc.reason)
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			t.Errorf("%s: Retry-After = %q, want none: waiting does not help", tc.name, ra)
		}
	}
}

// A browser may subscribe with the herald_token cookie, but never publish
// with it: that would be cross-site request forgery.
func TestCookieSubscribesOnly(t *testing.T) {
	t.Parallel()
	f := newHeraldFixture(t, server.Config{Auth: authtest.New(t, auth.Config{}), HeartbeatInterval: time.Hour})
	news := []string{"news"}
	tok := authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: news, Publish: news})
	cookie := map[string]string{"Cookie": auth.CookieName + "=" + tok}

	s := f.subscribe(t, "/v1/subscribe?topics=news", cookie)
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe with the cookie: status %d", s.resp.StatusCode)
	}
	if key, v := s.next(t); key != "result" || v["subscribed"] == nil {
		t.Fatalf("first line %q %v, want subscribed", key, v)
	}

	for _, path := range []string{"/v1/publish", "/v1/topics/news"} {
		resp, got := f.do(t, f.request(t, http.MethodPost, path, strings.NewReader(`{"topic":"news"}`), cookie))
		wantRefusal(t, resp, got, http.StatusUnauthorized, codes.Unauthenticated, refusal.Unauthenticated)
	}
	// An Authorization header wins over the cookie.
	withHeader := map[string]string{"Cookie": cookie["Cookie"], "Authorization": "Bearer not.a.token"}
	resp, got := f.do(t, f.request(t, http.MethodGet, "/v1/subscribe?topics=news", nil, withHeader))
	wantRefusal(t, resp, got, http.StatusUnauthorized, codes.Unauthenticated, refusal.InvalidToken)

	resp, got = f.do(t, f.request(t, http.MethodPost, "/v1/topics/news", strings.NewReader("hello"),
		map[string]string{"Authorization": "Bearer " + tok}))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("publish with the header: %d %s", resp.StatusCode, got)
	}
	if key, v := s.next(t); key != "result" || v["message"] == nil {
		t.Fatalf("line %q %v, want the message", key, v)
	}
}

// A subscribe stream whose token expires ends with an UNAUTHENTICATED
// error line; the status line had already said 200.
func TestTokenExpiryEndsHTTPStream(t *testing.T) {
	t.Parallel()
	// No leeway: the token expires in 1-2s.
	f := newHeraldFixture(t, server.Config{Auth: authtest.New(t, auth.Config{Leeway: -1}), HeartbeatInterval: time.Hour})
	tok := authtest.Mint(t, authtest.Grant{Sub: "alice", Expires: authtest.Soon(), Subscribe: []string{"news"}})

	s := f.subscribe(t, "/v1/subscribe?topics=news", map[string]string{"Authorization": "Bearer " + tok})
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", s.resp.StatusCode)
	}
	if key, v := s.next(t); key != "result" || v["subscribed"] == nil {
		t.Fatalf("first line %q %v, want subscribed", key, v)
	}
	key, v := s.next(t)
	if key != "error" {
		t.Fatalf("line %q %v, want the error", key, v)
	}
	wantStatusObject(t, v, codes.Unauthenticated, refusal.TokenExpired)
	if msg, _ := v["message"].(string); !strings.Contains(msg, "reconnect with a fresh token and resume from the last event id") {
		t.Errorf("message %q does not say how to resume", msg)
	}
	s.wantEOF(t)
}

// The Authorization header reaches the service as "authorization"
// metadata on every route; the herald_token cookie stands in for it on
// the subscribe route only, and never beside a header.
func TestCredentialMetadata(t *testing.T) {
	t.Parallel()
	svc := &fakeService{}
	f := newFixture(t, svc, gateway.Config{})
	cookie := auth.CookieName + "=c00kie"
	for _, tc := range []struct {
		method, path, body string
		header             map[string]string
		want               []string
	}{
		{"POST", "/v1/publish", `{"topic":"t"}`, map[string]string{"Authorization": "Bearer h"}, []string{"Bearer h"}},
		{"POST", "/v1/topics/t", "x", map[string]string{"Authorization": "Bearer h"}, []string{"Bearer h"}},
		{"GET", "/v1/subscribe?topics=t", "", map[string]string{"Authorization": "Bearer h"}, []string{"Bearer h"}},
		{"GET", "/v1/subscribe?topics=t", "", map[string]string{"Cookie": cookie}, []string{"Bearer c00kie"}},
		{"GET", "/v1/subscribe?topics=t", "", map[string]string{"Cookie": cookie, "Authorization": "Bearer h"}, []string{"Bearer h"}},
		{"POST", "/v1/publish", `{"topic":"t"}`, map[string]string{"Cookie": cookie}, nil},
		{"POST", "/v1/topics/t", "x", map[string]string{"Cookie": cookie}, nil},
	} {
		before := len(svc.received())
		resp, body := f.do(t, f.request(t, tc.method, tc.path, strings.NewReader(tc.body), tc.header))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, body)
		}
		calls := svc.received()
		if len(calls) != before+1 {
			t.Fatalf("%s %s: service received %d calls, want 1", tc.method, tc.path, len(calls)-before)
		}
		md := calls[len(calls)-1].md
		if got := md.Get(auth.MetadataKey); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s %s with %v: authorization metadata %q, want %q", tc.method, tc.path, tc.header, got, tc.want)
		}
		wantTransportMetadata(t, md)
	}
}
