package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/heraldhq/herald/gateway"
)

const (
	appOrigin   = "https://app.example.com"
	otherOrigin = "https://other.example.org"
)

// preflight sends a CORS preflight for a POST with Herald's request
// headers.
func preflight(t *testing.T, f *fixture, path, origin string) *http.Response {
	t.Helper()
	resp, body := f.do(t, f.request(t, http.MethodOptions, path, nil, map[string]string{
		"Origin":                         origin,
		"Access-Control-Request-Method":  http.MethodPost,
		"Access-Control-Request-Headers": "authorization,content-type,idempotency-key,last-event-id",
	}))
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Errorf("preflight from %s = %d %q, want 204 and no body", origin, resp.StatusCode, body)
	}
	if !varies(resp.Header, "Origin") {
		t.Errorf("preflight Vary = %q, want Origin among them", resp.Header.Values("Vary"))
	}
	return resp
}

// varies reports whether the Vary header lists name.
func varies(h http.Header, name string) bool {
	for _, v := range h.Values("Vary") {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), name) {
				return true
			}
		}
	}
	return false
}

// wantAllowed checks the CORS answer headers for an admitted origin.
func wantAllowed(t *testing.T, h http.Header, origin string, credentials bool) {
	t.Helper()
	if got := h.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, origin)
	}
	if got := h.Get("Access-Control-Allow-Credentials") == "true"; got != credentials {
		t.Errorf("Access-Control-Allow-Credentials = %q, want credentials %v", h.Get("Access-Control-Allow-Credentials"), credentials)
	}
}

// wantRefused checks that no CORS grant was made.
func wantRefused(t *testing.T, h http.Header) {
	t.Helper()
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-Allow-") {
			t.Errorf("%s = %q, want no Access-Control-Allow-* header", k, h.Values(k))
		}
	}
}

func TestCORSListedOrigins(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{AllowedOrigins: []string{appOrigin, "https://*.example.net"}})
	for _, path := range []string{"/v1/publish", "/v1/subscribe", "/v1/topics/news"} {
		resp := preflight(t, f, path, appOrigin)
		wantAllowed(t, resp.Header, appOrigin, true)
		if got := resp.Header.Get("Access-Control-Allow-Methods"); got != http.MethodPost {
			t.Errorf("%s: Access-Control-Allow-Methods = %q, want POST", path, got)
		}
		if got := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); got != "authorization,content-type,idempotency-key,last-event-id" {
			t.Errorf("%s: Access-Control-Allow-Headers = %q, want the four requested", path, got)
		}
		if got := resp.Header.Get("Access-Control-Max-Age"); got != "600" {
			t.Errorf("%s: Access-Control-Max-Age = %q, want 600", path, got)
		}
	}
	wantAllowed(t, preflight(t, f, "/v1/publish", "https://eu.example.net").Header, "https://eu.example.net", true)
	wantRefused(t, preflight(t, f, "/v1/publish", otherOrigin).Header)
	if calls := f.svc.received(); len(calls) != 0 {
		t.Errorf("preflights reached the service %d times, want never", len(calls))
	}

	// The actual request carries the grant too.
	resp, body := f.do(t, f.request(t, http.MethodPost, "/v1/topics/news", strings.NewReader("x"), map[string]string{"Origin": appOrigin}))
	wantPublishResponse(t, resp, body)
	wantAllowed(t, resp.Header, appOrigin, true)
	if !varies(resp.Header, "Origin") {
		t.Errorf("Vary = %q, want Origin among them", resp.Header.Values("Vary"))
	}
	resp, _ = f.do(t, f.request(t, http.MethodPost, "/v1/topics/news", strings.NewReader("x"), map[string]string{"Origin": otherOrigin}))
	wantRefused(t, resp.Header)
}

func TestCORSRefusesUnlistedHeader(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{AllowedOrigins: []string{appOrigin}})
	resp, _ := f.do(t, f.request(t, http.MethodOptions, "/v1/publish", nil, map[string]string{
		"Origin":                         appOrigin,
		"Access-Control-Request-Method":  http.MethodPost,
		"Access-Control-Request-Headers": "x-custom",
	}))
	wantRefused(t, resp.Header)
}

func TestCORSAnyOrigin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{AllowedOrigins: []string{"*"}})
	wantAllowed(t, preflight(t, f, "/v1/publish", otherOrigin).Header, "*", false)
	resp, _ := f.do(t, f.request(t, http.MethodPost, "/v1/topics/news", strings.NewReader("x"), map[string]string{"Origin": otherOrigin}))
	wantAllowed(t, resp.Header, "*", false)
}

func TestCORSAnyOriginBesideListed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{AllowedOrigins: []string{"*", appOrigin}})
	wantAllowed(t, preflight(t, f, "/v1/publish", appOrigin).Header, appOrigin, true)
	wantAllowed(t, preflight(t, f, "/v1/publish", otherOrigin).Header, "*", false)
}

func TestCORSNoOrigins(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{})
	wantRefused(t, preflight(t, f, "/v1/publish", appOrigin).Header)
	resp, body := f.do(t, f.request(t, http.MethodPost, "/v1/topics/news", strings.NewReader("x"), map[string]string{"Origin": appOrigin}))
	wantPublishResponse(t, resp, body) // same-origin and non-browser callers are unaffected
	wantRefused(t, resp.Header)
}

func TestCORSOnlyOnAPIRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{AllowedOrigins: []string{"*"}})
	resp, _ := f.do(t, f.request(t, http.MethodGet, "/healthz", nil, map[string]string{"Origin": appOrigin}))
	wantRefused(t, resp.Header)
	// An unknown /v1/ path still lets the browser read its 404.
	resp, body := f.do(t, f.request(t, http.MethodGet, "/v1/nope", nil, map[string]string{"Origin": appOrigin}))
	wantError(t, resp, body, http.StatusNotFound, 5)
	wantAllowed(t, resp.Header, "*", false)
}

// TestCORSWrapsOtherHandlers checks the exported middleware on a handler of
// its own.
func TestCORSWrapsOtherHandlers(t *testing.T) {
	t.Parallel()
	var calls []string
	h := gateway.CORS([]string{appOrigin}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method)
		w.WriteHeader(http.StatusOK)
	}))
	pre := httptest.NewRequest(http.MethodOptions, "/v1/sse", nil)
	pre.Header.Set("Origin", appOrigin)
	pre.Header.Set("Access-Control-Request-Method", http.MethodGet)
	pre.Header.Set("Access-Control-Request-Headers", "last-event-id")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, pre)
	if rec.Code != http.StatusNoContent {
		t.Errorf("preflight status = %d, want 204", rec.Code)
	}
	wantAllowed(t, rec.Header(), appOrigin, true)

	get := httptest.NewRequest(http.MethodGet, "/v1/sse", nil)
	get.Header.Set("Origin", appOrigin)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, get)
	wantAllowed(t, rec.Header(), appOrigin, true)
	if !slices.Equal(calls, []string{http.MethodGet}) {
		t.Errorf("wrapped handler saw %q, want only the GET", calls)
	}
}
