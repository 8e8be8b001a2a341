package web

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"github.com/heraldhq/herald/internal/testutil"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}

func get(t *testing.T, method, path string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRoutesServeEmbeddedFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, file, contentType string
	}{
		{"/", "index.html", "text/html; charset=utf-8"},
		{"/herald.js", "herald.js", "text/javascript; charset=utf-8"},
		{"/herald.d.ts", "herald.d.ts", "application/typescript; charset=utf-8"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			want, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			res := get(t, http.MethodGet, tc.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if got := body(t, res); got != string(want) {
				t.Errorf("body differs from %s (%d bytes, want %d)", tc.file, len(got), len(want))
			}
			h := res.Header
			if got := h.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			sum := sha256.Sum256(want)
			if got, wantTag := h.Get("ETag"), `"`+hex.EncodeToString(sum[:16])+`"`; got != wantTag {
				t.Errorf("ETag %q, want %q", got, wantTag)
			}
			if got := h.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", got)
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := h.Get("Content-Length"); got == "" {
				t.Error("no Content-Length")
			}
		})
	}
}

func TestConditionalRequestGets304(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/", "/herald.js", "/herald.d.ts"} {
		etag := get(t, http.MethodGet, path, nil).Header.Get("ETag")
		res := get(t, http.MethodGet, path, http.Header{"If-None-Match": {etag}})
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match %s: status %d, want 304", path, etag, res.StatusCode)
		}
		if b := body(t, res); b != "" {
			t.Errorf("%s: 304 with a body of %d bytes", path, len(b))
		}
		res = get(t, http.MethodGet, path, http.Header{"If-None-Match": {`"stale"`}})
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s with a stale ETag: status %d, want 200", path, res.StatusCode)
		}
	}
}

func TestHeadHasHeadersAndNoBody(t *testing.T) {
	t.Parallel()
	res := get(t, http.MethodHead, "/herald.js", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if got := res.Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if b := body(t, res); b != "" {
		t.Errorf("HEAD answered with a body of %d bytes", len(b))
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method, path string
		status, code int
		allow        string
	}{
		{http.MethodGet, "/index.html", 404, 5, ""},
		{http.MethodGet, "/herald.js/", 404, 5, ""},
		{http.MethodGet, "/herald.ts", 404, 5, ""},
		{http.MethodGet, "/web/herald.js", 404, 5, ""},
		{http.MethodPost, "/nope", 404, 5, ""},
		{http.MethodPost, "/", 405, 12, "GET, HEAD"},
		{http.MethodPut, "/herald.js", 405, 12, "GET, HEAD"},
		{http.MethodDelete, "/herald.d.ts", 405, 12, "GET, HEAD"},
		{http.MethodOptions, "/", 405, 12, "GET, HEAD"},
	} {
		res := get(t, tc.method, tc.path, nil)
		if res.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, res.StatusCode, tc.status)
		}
		if got := res.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		if got := res.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", tc.method, tc.path, got)
		}
		var e struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
			Details []any  `json:"details"`
		}
		if err := json.Unmarshal([]byte(body(t, res)), &e); err != nil {
			t.Fatalf("%s %s: error body: %v", tc.method, tc.path, err)
		}
		if e.Code == nil || *e.Code != tc.code || !strings.Contains(e.Message, tc.path) || e.Details == nil {
			t.Errorf("%s %s: error body %+v, want code %d, the path in the message and details []", tc.method, tc.path, e, tc.code)
		}
	}
}

// The page's policy must allow exactly its own inline script and style:
// a hash that does not match would leave the page dead in the browser.
func TestPagePolicyHashesInlineCode(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile("index.html")
	if err != nil {
		t.Fatal(err)
	}
	hashOf := func(open, end string) string {
		s := string(page)
		i := strings.Index(s, open)
		if i < 0 {
			t.Fatalf("page has no %s", open)
		}
		s = s[i:]
		s = s[strings.Index(s, ">")+1:]
		if strings.Contains(s[strings.Index(s, end):], open) {
			t.Fatalf("page has more than one %s: extend this test", open)
		}
		sum := sha256.Sum256([]byte(s[:strings.Index(s, end)]))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	res := get(t, http.MethodGet, "/", nil)
	csp := res.Header.Get("Content-Security-Policy")
	directives := map[string][]string{}
	for d := range strings.SplitSeq(csp, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			directives[f[0]] = f[1:]
		}
	}
	wantScript := []string{"'self'", hashOf(`<script type="module">`, "</script>")}
	if got := directives["script-src"]; !slices.Equal(got, wantScript) {
		t.Errorf("script-src %q, want %q", got, wantScript)
	}
	if got, want := directives["style-src"], []string{hashOf("<style>", "</style>")}; !slices.Equal(got, want) {
		t.Errorf("style-src %q, want %q", got, want)
	}
	for name, want := range map[string]string{
		"default-src": "'none'", "connect-src": "'self'", "frame-ancestors": "'none'",
	} {
		if got := directives[name]; !slices.Equal(got, []string{want}) {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
	if res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy %q", res.Header.Get("Referrer-Policy"))
	}
	if get(t, http.MethodGet, "/herald.js", nil).Header.Get("Content-Security-Policy") != "" {
		t.Error("the module carries a page policy")
	}
}

// The page must not load anything from another origin.
func TestPageUsesNoExternalResources(t *testing.T) {
	t.Parallel()
	page := body(t, get(t, http.MethodGet, "/", nil))
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).FindString(page); m != "" {
		t.Errorf("page loads an external resource: %s", m)
	}
	if m := regexp.MustCompile(`(?i)@import|url\(\s*['"]?https?:`).FindString(page); m != "" {
		t.Errorf("page style loads an external resource: %s", m)
	}
	for _, id := range []string{"state", "messages", "log", "topic", "transport-sse", "transport-ws", "connect",
		"disconnect", "publish-topic", "publish-text", "publish-button", "publish-result", "last-id", "error"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("page lacks the element #%s", id)
		}
	}
	if !strings.Contains(page, `from '/herald.js'`) {
		t.Error("page does not import /herald.js")
	}
}

// Every name the module exports is declared in herald.d.ts, and the other
// way round.
func TestTypesDeclareEveryExport(t *testing.T) {
	t.Parallel()
	exports := func(file string, re *regexp.Regexp) []string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			names = append(names, m[1])
		}
		slices.Sort(names)
		return names
	}
	js := exports("herald.js", regexp.MustCompile(`(?m)^export (?:class|function|const|let) (\w+)`))
	ts := exports("herald.d.ts", regexp.MustCompile(`(?m)^export (?:class|function|const|let) (\w+)`))
	if len(js) == 0 || !slices.Contains(js, "Herald") {
		t.Fatalf("herald.js exports %q, want Herald among them", js)
	}
	if !slices.Equal(js, ts) {
		t.Errorf("herald.js exports %q, herald.d.ts declares %q", js, ts)
	}
}
