package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/gateway"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/limits"
)

// rawConn is a TCP connection to a fixture on which a test writes requests
// byte by byte, as a hostile client would. Every read and write is bounded
// by timeout.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

// dialRaw opens a raw connection to f, closed when the test ends.
func (f *fixture) dialRaw(t *testing.T) *rawConn {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(t.Context(), "tcp", strings.TrimPrefix(f.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// send writes a request head (request line and headers, given as
// "Name: value" lines) and then body, which may be shorter than the
// Content-Length the head announces.
func (c *rawConn) send(t *testing.T, method, path string, header []string, body string) {
	t.Helper()
	head := method + " " + path + " HTTP/1.1\r\nHost: herald.test\r\n" + strings.Join(append(header, ""), "\r\n") + "\r\n"
	if _, err := io.WriteString(c, head+body); err != nil {
		t.Fatal(err)
	}
}

// response reads the next response and its body.
func (c *rawConn) response(t *testing.T) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("reading a response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading a response body: %v", err)
	}
	return resp, body
}

// wantClosed checks that the server closed the connection.
func (c *rawConn) wantClosed(t *testing.T) {
	t.Helper()
	if rest, err := io.ReadAll(c.r); err != nil || len(rest) != 0 {
		t.Errorf("after the response: %q, %v; want the connection closed", rest, err)
	}
}

// A request without a valid credential is refused with 401 before the
// gateway reads or checks anything else of it: a client that cannot
// authenticate learns nothing about its request, not even that it was
// malformed or too large.
func TestCredentialCheckedFirst(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{
		Auth:           authtest.New(t, auth.Config{Leeway: time.Minute, AllowAnonymous: []string{"public.>"}}),
		MaxMessageSize: 8,
	})
	grant := authtest.Grant{Sub: "alice", Subscribe: []string{">"}, Publish: []string{">"}}
	forged := grant
	forged.Secret = "another-secret-of-at-least-32-bytes!!"
	expired := grant // within the leeway, which the service would admit
	expired.Expires = time.Now().Add(-2 * time.Second)
	bearer := func(g authtest.Grant) map[string]string {
		return map[string]string{"Authorization": "Bearer " + authtest.Mint(t, g)}
	}
	tooLarge := `{"topic":"news","data":"` + strings.Repeat("A", 70<<10) + `"}`
	tests := []struct {
		name, method, path string
		body               io.Reader
		header             map[string]string
		reason             string
	}{
		{"raw: no credential, unknown parameter", "POST", "/v1/topics/public.news?idempotency-key=k", strings.NewReader("x"), nil, refusal.Unauthenticated},
		{"raw: no credential, too large", "POST", "/v1/topics/public.news", strings.NewReader("123456789"), nil, refusal.Unauthenticated},
		{"raw: forged, too large chunked", "POST", "/v1/topics/news", chunked{strings.NewReader("123456789")}, bearer(forged), refusal.InvalidToken},
		{"raw: expired within the leeway", "POST", "/v1/topics/news", strings.NewReader("x"), bearer(expired), refusal.TokenExpired},
		{"raw: not a bearer, bad UTF-8", "POST", "/v1/topics/news%ff", strings.NewReader("x"), map[string]string{"Authorization": "Basic dXNlcjpwdw=="}, refusal.InvalidToken},
		{"json: no credential, not JSON", "POST", "/v1/publish", strings.NewReader("topic=news"), nil, refusal.Unauthenticated},
		{"json: no credential, too large", "POST", "/v1/publish", strings.NewReader(tooLarge), nil, refusal.Unauthenticated},
		{"json: forged, unknown field", "POST", "/v1/publish", strings.NewReader(`{"topic":"news","idempotency-key":"k"}`), bearer(forged), refusal.InvalidToken},
		{"json: expired within the leeway", "POST", "/v1/publish", strings.NewReader(`{"topic":"news"}`), bearer(expired), refusal.TokenExpired},
		{"subscribe: forged, malformed query", "GET", "/v1/subscribe?topics=%zz", nil, bearer(forged), refusal.InvalidToken},
		{"subscribe: expired within the leeway", "GET", "/v1/subscribe?topics=news", nil, bearer(expired), refusal.TokenExpired},
		{"subscribe: forged cookie, not UTF-8", "GET", "/v1/subscribe?topics=%ff", nil,
			map[string]string{"Cookie": auth.CookieName + "=" + authtest.Mint(t, forged)}, refusal.InvalidToken},
	}
	for _, tt := range tests {
		before := f.refused(t, tt.reason)
		resp, body := f.do(t, f.request(t, tt.method, tt.path, tt.body, tt.header))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", tt.name, resp.StatusCode, body)
			continue
		}
		wantRefusal(t, resp, body, http.StatusUnauthorized, codes.Unauthenticated, tt.reason)
		if got := f.refused(t, tt.reason); got != before+1 {
			t.Errorf("%s: refused{reason=%q} went from %v to %v, want +1", tt.name, tt.reason, before, got)
		}
	}
	if calls := f.svc.received(); len(calls) != 0 {
		t.Fatalf("service received %d calls, want none", len(calls))
	}

	// With a valid credential the request goes on to be checked as before.
	resp, body := f.do(t, f.request(t, "POST", "/v1/topics/news", strings.NewReader("123456789"), bearer(grant)))
	wantError(t, resp, body, http.StatusRequestEntityTooLarge, int(codes.ResourceExhausted))
	resp, body = f.do(t, f.request(t, "POST", "/v1/topics/news", strings.NewReader("12345678"), bearer(grant)))
	wantPublishResponse(t, resp, body)
}

// A client announcing a large body and sending little of it, without a
// credential, is answered at once and its connection closed: the gateway
// reads none of the body and reserves nothing for it.
func TestUnauthenticatedBodyNotRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{Auth: authtest.New(t, auth.Config{})})
	const clients = 64
	conns := make([]*rawConn, clients)
	for i := range conns {
		path := "/v1/topics/news"
		if i%2 == 1 {
			path = "/v1/publish"
		}
		// Half announce the largest body, half a small one, which net/http
		// would otherwise wait to read to the end before answering.
		length := 1 << 20
		if i%4 >= 2 {
			length = 100
		}
		conns[i] = f.dialRaw(t)
		conns[i].send(t, "POST", path, []string{fmt.Sprintf("Content-Length: %d", length)}, "{}")
	}
	for i, c := range conns {
		resp, body := c.response(t)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("client %d: %d %s, want 401", i, resp.StatusCode, body)
		}
		wantRefusal(t, resp, body, http.StatusUnauthorized, codes.Unauthenticated, refusal.Unauthenticated)
		c.wantClosed(t)
	}
	if calls := f.svc.received(); len(calls) != 0 {
		t.Errorf("service received %d calls, want none", len(calls))
	}
}

// serveH2C serves f's gateway on another loopback server that speaks
// HTTP/2 with prior knowledge, and returns its URL and a transport that
// speaks only that. Both are closed when the test ends.
func (f *fixture) serveH2C(t *testing.T) (string, *http.Transport) {
	t.Helper()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv := httptest.NewUnstartedServer(f.handler)
	srv.Config.Protocols = &p
	srv.Start()
	t.Cleanup(srv.Close)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return srv.URL, tr
}

// A publish whose body does not arrive within the body read timeout is
// refused with 408 on both publish routes, over HTTP/1.1, where its
// connection is closed, and over HTTP/2.
func TestPublishBodyReadTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{
		Auth:            authtest.New(t, auth.Config{}),
		BodyReadTimeout: 100 * time.Millisecond,
	})
	tok := "Bearer " + authtest.Mint(t, authtest.Grant{Sub: "alice", Publish: []string{">"}})
	want408 := func(what string, resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("%s: %d %s, want 408", what, resp.StatusCode, body)
		}
		v := errorObject(t, resp, body, http.StatusRequestTimeout)
		if got, _ := v["code"].(float64); codes.Code(got) != codes.DeadlineExceeded {
			t.Errorf("%s: code %v, want %d", what, v["code"], codes.DeadlineExceeded)
		}
	}
	h2URL, h2 := f.serveH2C(t)
	for _, path := range []string{"/v1/topics/news", "/v1/publish"} {
		c := f.dialRaw(t)
		c.send(t, "POST", path, []string{"Authorization: " + tok, "Content-Length: 100"}, `{"`)
		resp, body := c.response(t)
		want408("HTTP/1.1 "+path, resp, body)
		c.wantClosed(t)

		// The body's writer stalls after its first bytes until the test
		// ends.
		pr, pw := io.Pipe()
		t.Cleanup(func() { _ = pw.Close() })
		go func() { _, _ = io.WriteString(pw, `{"`) }()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h2URL+path, pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", tok)
		if resp, err = h2.RoundTrip(req); err != nil {
			t.Fatalf("HTTP/2 %s: %v", path, err)
		}
		body, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.ProtoMajor != 2 {
			t.Fatalf("HTTP/2 %s: %s, %v", path, resp.Proto, err)
		}
		want408("HTTP/2 "+path, resp, body)
	}
	if got := f.refused(t, "body_timeout"); got != 4 {
		t.Errorf("refused{reason=body_timeout} = %v, want 4", got)
	}
	if calls := f.svc.received(); len(calls) != 0 {
		t.Errorf("service received %d calls, want none", len(calls))
	}
}

// A body announced large but sent small costs the gateway what was sent,
// not what was announced. Not parallel: it measures the process's
// allocations.
func TestAnnouncedBodySizeNotReserved(t *testing.T) {
	f := newFixture(t, &fakeService{}, gateway.Config{
		Auth:            authtest.New(t, auth.Config{}),
		BodyReadTimeout: 200 * time.Millisecond,
	})
	tok := "Authorization: Bearer " + authtest.Mint(t, authtest.Grant{Sub: "alice", Publish: []string{">"}})
	const clients = 16
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	conns := make([]*rawConn, clients)
	for i := range conns {
		conns[i] = f.dialRaw(t)
		conns[i].send(t, "POST", "/v1/topics/news", []string{tok, "Content-Length: 1048576"}, "ab")
	}
	for _, c := range conns {
		if resp, body := c.response(t); resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("%d %s, want 408", resp.StatusCode, body)
		}
	}
	runtime.ReadMemStats(&after)
	// Reserving the announced size would allocate 16 MiB.
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Errorf("%d clients announcing 1 MiB and sending 2 bytes made the process allocate %d bytes", clients, got)
	}
}

// With Limits the gateway applies them itself, after the credential: the
// subscribe rate per client connection, a connection slot per client
// address while a stream lasts, and the publish rate per identity.
func TestGatewayLimits(t *testing.T) {
	t.Parallel()
	var open atomic.Int32
	svc := &fakeService{subscribe: func(_ *heraldv1.SubscribeRequest, st heraldv1.PubSubService_SubscribeServer) error {
		open.Add(1)
		defer open.Add(-1)
		if err := st.Send(&heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Subscribed{Subscribed: &heraldv1.Subscribed{}}}); err != nil {
			return err
		}
		<-st.Context().Done()
		return st.Context().Err()
	}}
	// One subscribe request per connection and one publish per identity
	// per 100 seconds: the next is refused however slow the machine.
	lim := limits.New(limits.Config{MaxConnectionsPerIP: 1, SubscribeRate: 0.01, SubscribeBurst: 1, PublishRate: 0.01, PublishBurst: 1})
	f := newFixture(t, svc, gateway.Config{Auth: authtest.New(t, auth.Config{}), Limits: lim})
	mint := func(sub string) string {
		return "Authorization: Bearer " + authtest.Mint(t, authtest.Grant{Sub: sub, Subscribe: []string{">"}, Publish: []string{">"}})
	}
	alice, bob := mint("alice"), mint("bob")

	// A refusal of the credential takes nothing from the limits.
	c := f.dialRaw(t)
	c.send(t, "GET", "/v1/subscribe?topics=news", []string{"Authorization: Bearer forged"}, "")
	if resp, body := c.response(t); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged subscribe: %d %s, want 401", resp.StatusCode, body)
	}
	c.send(t, "GET", "/v1/subscribe?topics=news", []string{alice}, "")
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first subscribe: %v %v, want 200", resp, err)
	}
	if _, err := c.r.ReadString('\n'); err != nil {
		t.Fatalf("reading the subscribed line: %v", err)
	}
	if got := lim.Connections(); got != 1 {
		t.Errorf("connections = %d while the stream lasts, want 1", got)
	}

	// Another connection from the address has no slot; its next request
	// is over its connection's subscribe rate.
	d := f.dialRaw(t)
	d.send(t, "GET", "/v1/subscribe?topics=news", []string{bob}, "")
	resp, body := d.response(t)
	wantRefusal(t, resp, body, http.StatusTooManyRequests, codes.ResourceExhausted, refusal.TooManyConnections)
	d.send(t, "GET", "/v1/subscribe?topics=news", []string{bob}, "")
	resp, body = d.response(t)
	wantRefusal(t, resp, body, http.StatusTooManyRequests, codes.ResourceExhausted, refusal.RateLimited)
	if ra := resp.Header.Get("Retry-After"); ra == "" {
		t.Error("a subscribe over the rate has no Retry-After")
	}

	// The slot comes back when the stream ends.
	_ = c.Close()
	testutil.WaitFor(t, timeout, "the stream's slot to come back", func() bool { return lim.Connections() == 0 && open.Load() == 0 })
	e := f.dialRaw(t)
	e.send(t, "GET", "/v1/subscribe?topics=news", []string{bob}, "")
	if resp, err := http.ReadResponse(e.r, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe after the slot came back: %v %v, want 200", resp, err)
	}

	// Publishes: each identity has its own rate.
	publish := func(tok string) (*http.Response, []byte) {
		c := f.dialRaw(t)
		c.send(t, "POST", "/v1/topics/news", []string{tok, "Content-Length: 1"}, "x")
		return c.response(t)
	}
	if resp, body := publish(alice); resp.StatusCode != http.StatusOK {
		t.Fatalf("alice's first publish: %d %s", resp.StatusCode, body)
	}
	resp, body = publish(alice)
	wantRefusal(t, resp, body, http.StatusTooManyRequests, codes.ResourceExhausted, refusal.RateLimited)
	if resp, body := publish(bob); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's first publish: %d %s", resp.StatusCode, body)
	}
	if got := f.refused(t, refusal.RateLimited); got != 2 {
		t.Errorf("refused{reason=rate_limited} = %v, want 2", got)
	}
}
