package gateway_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/gateway"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{Ready: func() bool { return false }})
	resp, body := f.do(t, f.request(t, http.MethodGet, "/healthz", nil, nil))
	if resp.StatusCode != http.StatusOK || decodeObject(t, body)["status"] != "ok" {
		t.Errorf("GET /healthz = %d %s, want 200 {\"status\":\"ok\"} even when not ready", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	resp, body = f.do(t, f.request(t, http.MethodHead, "/healthz", nil, nil))
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Errorf("HEAD /healthz = %d %q, want 200 and no body", resp.StatusCode, body)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	var ready atomic.Bool
	f := newFixture(t, &fakeService{}, gateway.Config{Ready: ready.Load})
	check := func(status int, want string) {
		t.Helper()
		resp, body := f.do(t, f.request(t, http.MethodGet, "/readyz", nil, nil))
		if resp.StatusCode != status || decodeObject(t, body)["status"] != want {
			t.Errorf("GET /readyz = %d %s, want %d {\"status\":%q}", resp.StatusCode, body, status, want)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
	}
	check(http.StatusServiceUnavailable, "not ready")
	ready.Store(true)
	check(http.StatusOK, "ready")
	ready.Store(false)
	check(http.StatusServiceUnavailable, "not ready")
}

func TestReadyzWithoutReadyFunc(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{})
	resp, body := f.do(t, f.request(t, http.MethodGet, "/readyz", nil, nil))
	if resp.StatusCode != http.StatusOK || decodeObject(t, body)["status"] != "ready" {
		t.Errorf("GET /readyz = %d %s, want 200 ready", resp.StatusCode, body)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{})
	// One refusal, so that the counter has a series to show.
	f.do(t, f.request(t, http.MethodGet, "/no/such/path", nil, nil))
	resp, body := f.do(t, f.request(t, http.MethodGet, "/metrics", nil, nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want the text exposition format", ct)
	}
	want := `herald_requests_refused_total{reason="not_found",transport="gateway"} 1`
	if !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s:\n%s", want, body)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{})
	for _, path := range []string{"/", "/nope", "/v1", "/v1/publish/x", "/v1/topics/", "/v1/topics/a/b", "/v1/subscribe/", "/nope%ff/x"} {
		resp, body := f.do(t, f.request(t, http.MethodGet, path, nil, nil))
		wantError(t, resp, body, http.StatusNotFound, int(codes.NotFound))
	}
	if got := f.refused(t, "not_found"); got != 8 {
		t.Errorf("refused{reason=not_found} = %v, want 8", got)
	}
	if calls := f.svc.received(); len(calls) != 0 {
		t.Errorf("service received %d calls, want none", len(calls))
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{})
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodGet, "/v1/publish", "POST"},
		{http.MethodPut, "/v1/publish", "POST"},
		{http.MethodPost, "/v1/subscribe", "GET"},
		{http.MethodHead, "/v1/subscribe", "GET"},
		{http.MethodOptions, "/v1/subscribe", "GET"}, // not a preflight: no Access-Control-Request-Method
		{http.MethodPost, "/healthz", "GET, HEAD"},
		{http.MethodDelete, "/readyz", "GET, HEAD"},
		{http.MethodPost, "/metrics", "GET, HEAD"},
	}
	for _, tt := range tests {
		// A POST with a form body must not fall back to the GET route.
		req := f.request(t, tt.method, tt.path, strings.NewReader("topics=a"), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "X-HTTP-Method-Override": "GET",
		})
		resp, body := f.do(t, req)
		if tt.method == http.MethodHead {
			if resp.StatusCode != http.StatusMethodNotAllowed || len(body) != 0 {
				t.Errorf("HEAD %s = %d %q, want 405 without a body", tt.path, resp.StatusCode, body)
			}
		} else {
			wantError(t, resp, body, http.StatusMethodNotAllowed, int(codes.Unimplemented))
		}
		if got := resp.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
	if calls := f.svc.received(); len(calls) != 0 {
		t.Errorf("service received %d calls, want none", len(calls))
	}
}
