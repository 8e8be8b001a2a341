package app_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/client"
	"github.com/heraldhq/herald/internal/tlsfiles/tlstest"
	"github.com/heraldhq/herald/limits"
)

func TestTLSNodeServesGRPCAndHTTPSWithHTTP2(t *testing.T) {
	t.Parallel()
	tt := newTestTLS(t)
	cfg := testConfig(t)
	cfg.TLS = tt.cfg
	n := startNode(t, cfg)
	base := "https://" + n.HTTPAddr().String()
	h2 := httpsClient(t, tt.ca.Pool(), true)

	// An SSE stream over HTTP/2, so that browsers are not held to six
	// streams per host.
	s := openSSE(t, h2, base+"/v1/sse?topic=news", nil)
	if s.resp.Proto != "HTTP/2.0" {
		t.Fatalf("SSE over %s, want HTTP/2.0", s.resp.Proto)
	}
	if ev := s.next(t); ev.event != "herald.subscribed" {
		t.Fatalf("first event %+v", ev)
	}

	// gRPC over TLS, with a client that trusts the CA.
	res, err := client.New(tt.dial(t, n.GRPCAddr().String())).Publish(t.Context(), "news", []byte("over grpc"))
	if err != nil {
		t.Fatalf("publish over TLS: %v", err)
	}
	if ev := s.next(t); ev.id != res.GetId() || ev.data != "over grpc" {
		t.Fatalf("got %+v, want message %s", ev, res.GetId())
	}

	// The HTTP API over HTTP/2.
	resp, err := h2.Post(base+"/v1/topics/news", "text/plain", strings.NewReader("over https"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/2.0" {
		t.Fatalf("publish over HTTPS: %s %s", resp.Proto, resp.Status)
	}
	if ev := s.next(t); ev.data != "over https" {
		t.Fatalf("got %+v", ev)
	}

	// HTTP/1.1 clients are served too, and plain-text ones are not.
	resp, err = httpsClient(t, tt.ca.Pool(), false).Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/1.1" {
		t.Fatalf("HTTP/1.1 over TLS: %s %s", resp.Proto, resp.Status)
	}
	if resp, err := httpClient(t).Get(baseURL(n) + "/healthz"); err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("the TLS port answered a plain-text request")
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := client.New(dial(t, n.GRPCAddr().String())).Publish(ctx, "news", nil); status.Code(err) != codes.Unavailable {
		t.Fatalf("plain-text gRPC to the TLS port: %v, want Unavailable", err)
	}
}

func TestAuthNodeRefusesAnonymousClientsAndAcceptsTokens(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Auth = auth.Config{HMACSecret: authtest.Secret}
	n := startNode(t, cfg)
	conn := dial(t, n.GRPCAddr().String())
	tok := authtest.Mint(t, authtest.Grant{Sub: "svc", Publish: []string{"orders.>"}, Subscribe: []string{"orders.>"}})

	// gRPC.
	if _, err := client.New(conn).Publish(t.Context(), "orders.new", []byte("x")); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous gRPC publish: %v, want Unauthenticated", err)
	}
	if _, err := client.New(conn, client.WithToken(tok)).Publish(t.Context(), "orders.new", []byte("x")); err != nil {
		t.Fatalf("gRPC publish with a token: %v", err)
	}

	// The HTTP API, through the in-process connection.
	hc := httpClient(t)
	url := baseURL(n) + "/v1/topics/orders.new"
	if code := statusOf(t, hc, http.MethodPost, url, nil, "x"); code != http.StatusUnauthorized {
		t.Fatalf("anonymous HTTP publish: %d, want 401", code)
	}
	if code := statusOf(t, hc, http.MethodPost, url, bearer(tok), "x"); code != http.StatusOK {
		t.Fatalf("HTTP publish with a token: %d", code)
	}

	// The browser transports share the node's authenticator.
	sseURL := baseURL(n) + "/v1/sse?topic=orders.new"
	if code := statusOf(t, hc, http.MethodGet, sseURL, nil, ""); code != http.StatusUnauthorized {
		t.Fatalf("anonymous SSE: %d, want 401", code)
	}
	if ev := openSSE(t, hc, sseURL+"&access_token="+tok, nil).next(t); ev.event != "herald.subscribed" {
		t.Fatalf("SSE with a token: first event %+v", ev)
	}
	wsURL := "ws://" + n.HTTPAddr().String() + "/v1/ws?topic=orders.new"
	ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL, nil)
	if err == nil {
		_ = ws.Close()
		t.Fatal("anonymous WebSocket connected")
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous WebSocket: %v %v, want 401", resp, err)
	}
	ws, _, err = websocket.DefaultDialer.DialContext(t.Context(), wsURL+"&access_token="+tok, nil)
	if err != nil {
		t.Fatalf("WebSocket with a token: %v", err)
	}
	_ = ws.Close()
}

func TestLimitsReachEveryTransport(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Limits = limits.Config{MaxTopics: 1}
	n := startNode(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	sub := client.New(dial(t, n.GRPCAddr().String())).Subscribe(ctx, []string{"a", "b"}, client.WithBackoff(time.Hour, time.Hour))
	defer sub.Close()
	// Too many topics is no error that waiting mends: the subscription
	// ends with it.
	if ev, err := sub.Next(ctx); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("gRPC subscribe to two topics: %v %v %v, want ResourceExhausted", ev.Kind, ev.Err, err)
	}
	if code := statusOf(t, httpClient(t), http.MethodGet, baseURL(n)+"/v1/sse?topic=a&topic=b", nil, ""); code != http.StatusTooManyRequests {
		t.Fatalf("SSE subscribe to two topics: %d, want 429", code)
	}
}

func TestMaxHeaderBytesBoundsRequestsAndHandshakes(t *testing.T) {
	t.Parallel()
	small := testConfig(t)
	small.MaxHeaderBytes = 1 << 10
	nSmall := startNode(t, small)
	nDefault := startNode(t, testConfig(t))
	hc := httpClient(t)
	// Beyond the 1 KiB bound and the slack net/http allows over it, well
	// within the default 64 KiB.
	big := http.Header{"X-Padding": {strings.Repeat("x", 16<<10)}}
	for _, path := range []string{"/healthz", "/v1/sse?topic=news"} {
		for _, tc := range []struct {
			n    *app.Node
			want int
		}{{nSmall, http.StatusRequestHeaderFieldsTooLarge}, {nDefault, http.StatusOK}} {
			if code := statusOf(t, hc, http.MethodGet, baseURL(tc.n)+path, big, ""); code != tc.want {
				t.Errorf("%s with 16 KiB of headers: %d, want %d", path, code, tc.want)
			}
		}
	}
}

func TestStartSaysWhoMayDoWhat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		auth  auth.Config
		level string
		msg   string
		want  map[string]string
	}{
		{"open", auth.Config{}, "WARN", "OPEN MODE", nil},
		{"token", auth.Config{HMACSecret: authtest.Secret, AllowAnonymous: []string{"public.>"}, Audience: "herald"},
			"INFO", "authentication required",
			map[string]string{"methods": "hmac", "anonymous": "may subscribe to public.>", "audience": "herald"}},
		{"no anonymous", auth.Config{HMACSecret: authtest.Secret}, "INFO", "authentication required",
			map[string]string{"anonymous": "refused"}},
	} {
		var logs logBuffer
		cfg := testConfig(t)
		cfg.Auth = tc.auth
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		startNode(t, cfg)
		var rec map[string]any
		for line := range strings.Lines(logs.String()) {
			var r map[string]any
			if json.Unmarshal([]byte(line), &r) == nil && strings.HasPrefix(r["msg"].(string), tc.msg) {
				rec = r
			}
		}
		if rec == nil || rec["level"] != tc.level {
			t.Fatalf("%s: no %s record %q in\n%s", tc.name, tc.level, tc.msg, logs.String())
		}
		if tc.name == "open" {
			msg := rec["msg"].(string)
			for _, want := range []string{"ANYONE", "subscribe and publish to EVERY topic", "local use only", "docs/security.md"} {
				if !strings.Contains(msg, want) {
					t.Errorf("open-mode warning %q lacks %q", msg, want)
				}
			}
		}
		for k, v := range tc.want {
			if rec[k] != v {
				t.Errorf("%s: %s = %v, want %q", tc.name, k, rec[k], v)
			}
		}
		if strings.Contains(logs.String(), authtest.Secret) {
			t.Errorf("%s: the secret is in the logs", tc.name)
		}
	}
}

func TestStartRefusesBadSecurityConfig(t *testing.T) {
	t.Parallel()
	tt := newTestTLS(t)
	for name, edit := range map[string]func(*app.Config){
		"cert without key":        func(c *app.Config) { c.TLS.CertFile = tt.cfg.CertFile },
		"missing cert":            func(c *app.Config) { c.TLS = app.TLSConfig{CertFile: tt.caFile + ".missing", KeyFile: tt.cfg.KeyFile} },
		"short secret":            func(c *app.Config) { c.Auth.HMACSecret = "short" },
		"anonymous without creds": func(c *app.Config) { c.Auth.AllowAnonymous = []string{"news"} },
		"negative header bytes":   func(c *app.Config) { c.MaxHeaderBytes = -1 },
	} {
		cfg := testConfig(t)
		edit(&cfg)
		n, err := app.Start(t.Context(), cfg)
		if err == nil {
			_ = n.Shutdown(t.Context())
			t.Errorf("%s: started", name)
		}
	}
	cfg := testConfig(t)
	cfg.TLS.KeyFile = tt.cfg.KeyFile
	if _, err := app.Start(t.Context(), cfg); !errors.Is(err, app.ErrInvalidConfig) {
		t.Errorf("key without cert: %v, want ErrInvalidConfig", err)
	}
}

// A publish without a valid credential is refused before its body is
// read, whatever size it announces and however slowly it arrives, over
// HTTP/1.1 and HTTP/2 alike: an unauthenticated client holds no memory
// and no connection.
func TestUnauthenticatedPublishRefusedBeforeItsBody(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Auth = auth.Config{HMACSecret: authtest.Secret}
	n := startNode(t, cfg)

	const clients = 64
	conns := make([]net.Conn, clients)
	for i := range conns {
		var d net.Dialer
		c, err := d.DialContext(t.Context(), "tcp", n.HTTPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
			t.Fatal(err)
		}
		path := "/v1/topics/news"
		if i%2 == 1 {
			path = "/v1/publish"
		}
		if _, err := io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: herald\r\nContent-Length: 1048576\r\n\r\n{}"); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for i, c := range conns {
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatalf("client %d: reading the answer: %v", i, err)
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("client %d: %s, want 401", i, resp.Status)
		}
		if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
			t.Fatalf("client %d: after the answer %q, %v; want the connection closed", i, rest, err)
		}
	}

	// Over HTTP/2 (h2c), with a body that never ends.
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	body, stall := io.Pipe()
	t.Cleanup(func() { _ = stall.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL(n)+"/v1/topics/news", body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("HTTP/2 publish with a body that never ends: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Proto != "HTTP/2.0" {
		t.Fatalf("HTTP/2 publish with a body that never ends: %s %s, want HTTP/2.0 401", resp.Proto, resp.Status)
	}
}

// TestTLSNodeServesRenewedCertificates: a certificate pair rewritten in
// place (a renewal) is served on both ports to new connections, without
// a restart.
func TestTLSNodeServesRenewedCertificates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	certFile, keyFile := ca.WritePair(t, dir, "herald before renewal")
	cfg := testConfig(t)
	cfg.TLS = app.TLSConfig{CertFile: certFile, KeyFile: keyFile, ReloadInterval: 100 * time.Millisecond}
	n := startNode(t, cfg)
	client := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}
	served := func(addr string) string { return tlstest.ServedName(t, addr, client) }
	ports := map[string]string{"gRPC": n.GRPCAddr().String(), "HTTPS": n.HTTPAddr().String()}
	for port, addr := range ports {
		if got := served(addr); got != "herald before renewal" {
			t.Fatalf("%s port serves %q", port, got)
		}
	}
	ca.WritePair(t, dir, "herald after renewal, with a longer name")
	for port, addr := range ports {
		waitFor(t, 10*time.Second, "the renewed certificate on the "+port+" port", func() bool {
			return served(addr) == "herald after renewal, with a longer name"
		})
	}
}
