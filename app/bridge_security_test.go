package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
)

// startSecureBridge starts a bridge with TLS and token authentication for
// its browsers in front of up, over TLS, presenting upstreamToken.
func startSecureBridge(t *testing.T, tt testTLS, up *app.Node, upstreamToken string) *app.Bridge {
	t.Helper()
	cfg := testBridgeConfig(t, up.GRPCAddr().String())
	cfg.Auth = auth.Config{HMACSecret: authtest.Secret}
	cfg.TLS = tt.cfg
	cfg.UpstreamCAFile = tt.caFile
	cfg.UpstreamToken = upstreamToken
	return startBridgeWith(t, cfg)
}

func TestBridgeSecuresBothSides(t *testing.T) {
	t.Parallel()
	tt := newTestTLS(t)
	up := startSecureNode(t, tt)
	b := startSecureBridge(t, tt, up, authtest.Mint(t, authtest.Grant{Sub: "bridge", Subscribe: []string{">"}}))
	base := "https://" + b.HTTPAddr().String()
	hc := httpsClient(t, tt.ca.Pool(), true)
	waitFor(t, 20*time.Second, "the bridge to reach its upstream over TLS", func() bool {
		return statusOf(t, hc, http.MethodGet, base+"/readyz", nil, "") == http.StatusOK
	})

	// Browsers need a token of their own, checked by the bridge.
	if code := statusOf(t, hc, http.MethodGet, base+"/v1/sse?topic=news", nil, ""); code != http.StatusUnauthorized {
		t.Fatalf("anonymous SSE through the bridge: %d, want 401", code)
	}
	reader := authtest.Mint(t, authtest.Grant{Sub: "reader", Subscribe: []string{"news"}})
	s := openSSE(t, hc, base+"/v1/sse?topic=news&access_token="+reader, nil)
	if s.resp.Proto != "HTTP/2.0" {
		t.Fatalf("SSE through the bridge over %s, want HTTP/2.0", s.resp.Proto)
	}
	if ev := s.next(t); ev.event != "herald.subscribed" {
		t.Fatalf("first event %+v", ev)
	}

	// The relayed HTTP API presents the client's own credential to the
	// upstream, never the bridge's (which may not publish: that would be
	// 403, not 401).
	publish := base + "/v1/topics/news"
	if code := statusOf(t, hc, http.MethodPost, publish, nil, "x"); code != http.StatusUnauthorized {
		t.Fatalf("anonymous publish through the bridge: %d, want 401", code)
	}
	writer := authtest.Mint(t, authtest.Grant{Sub: "writer", Publish: []string{"news"}})
	if code := statusOf(t, hc, http.MethodPost, publish, bearer(writer), "hello"); code != http.StatusOK {
		t.Fatalf("publish with a token through the bridge: %d", code)
	}
	if ev := s.next(t); ev.data != "hello" {
		t.Fatalf("got %+v, want the message", ev)
	}
}

func TestBridgeWithoutUpstreamTokenIsRefusedUpstream(t *testing.T) {
	t.Parallel()
	tt := newTestTLS(t)
	b := startSecureBridge(t, tt, startSecureNode(t, tt), "")
	reader := authtest.Mint(t, authtest.Grant{Sub: "reader", Subscribe: []string{"news"}})
	url := "https://" + b.HTTPAddr().String() + "/v1/sse?topic=news&access_token=" + reader
	if code := statusOf(t, httpsClient(t, tt.ca.Pool(), true), http.MethodGet, url, nil, ""); code != http.StatusUnauthorized {
		t.Fatalf("a subscription through a bridge without an upstream token: %d, want the upstream's 401", code)
	}
}
