package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

//go:embed index.html herald.js herald.d.ts
var files embed.FS

// Content types of the served files.
const (
	contentTypeHTML       = "text/html; charset=utf-8"
	contentTypeJavaScript = "text/javascript; charset=utf-8"
	contentTypeTypeScript = "application/typescript; charset=utf-8"
)

// The paths the handler serves.
const (
	pathPage    = "/"
	pathModule  = "/herald.js"
	pathTypes   = "/herald.d.ts"
	allowHeader = "GET, HEAD"
)

// gRPC codes of the error bodies, as every Herald HTTP error carries them.
const (
	codeNotFound      = 5
	codeUnimplemented = 12
)

// asset is one served file, prepared once.
type asset struct {
	name        string
	content     []byte
	contentType string
	etag        string
	csp         string // Content-Security-Policy; empty for non-pages
}

// assets maps each served path to its file. It is built at package
// initialisation and read-only afterwards.
var assets = mustAssets()

func mustAssets() map[string]*asset {
	m := make(map[string]*asset, 3)
	for path, f := range map[string]struct{ name, contentType string }{
		pathPage:   {"index.html", contentTypeHTML},
		pathModule: {"herald.js", contentTypeJavaScript},
		pathTypes:  {"herald.d.ts", contentTypeTypeScript},
	} {
		b, err := files.ReadFile(f.name)
		if err != nil {
			panic(fmt.Sprintf("web: embedded %s: %v", f.name, err)) // the embed directive guarantees it
		}
		sum := sha256.Sum256(b)
		a := &asset{
			name:        f.name,
			content:     b,
			contentType: f.contentType,
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		if f.contentType == contentTypeHTML {
			a.csp = pagePolicy(b)
		}
		m[path] = a
	}
	return m
}

// pagePolicy returns the Content-Security-Policy of the page: its inline
// scripts and styles allowed by their hashes, everything else from its own
// origin only, and no framing.
func pagePolicy(page []byte) string {
	scripts := inlineHashes(page, "<script", "</script>")
	styles := inlineHashes(page, "<style", "</style>")
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' " + strings.Join(scripts, " "),
		"style-src " + strings.Join(styles, " "),
		"connect-src 'self'",
		"img-src 'self' data:",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// inlineHashes returns the CSP hash source ('sha256-…') of the content of
// every element that opens with open and ends with end.
func inlineHashes(page []byte, open, end string) []string {
	var hashes []string
	for rest := page; ; {
		i := bytes.Index(rest, []byte(open))
		if i < 0 {
			return hashes
		}
		rest = rest[i:]
		gt := bytes.IndexByte(rest, '>')
		j := bytes.Index(rest, []byte(end))
		if gt < 0 || j < gt {
			return hashes
		}
		sum := sha256.Sum256(rest[gt+1 : j])
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		rest = rest[j+len(end):]
	}
}

// Handler returns the handler of the demo page (GET /), the client module
// (GET /herald.js) and its type declarations (GET /herald.d.ts). It answers
// 404 for any other path and 405 for a method other than GET and HEAD.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, codeNotFound,
			fmt.Sprintf("no such endpoint: %s %q", r.Method, r.URL.Path))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", allowHeader)
		writeError(w, http.StatusMethodNotAllowed, codeUnimplemented,
			fmt.Sprintf("method %s is not allowed on %q; allowed: %s", r.Method, r.URL.Path, allowHeader))
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if a.csp != "" {
		h.Set("Content-Security-Policy", a.csp)
		h.Set("Referrer-Policy", "no-referrer")
	}
	// ServeContent answers If-None-Match with 304, ranges, and HEAD. The
	// files have no meaningful modification time: the ETag stands for it.
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.content))
}

// errorBody is Herald's JSON error body on every HTTP route.
type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	b, _ := json.Marshal(errorBody{Code: code, Message: msg, Details: []any{}}) // strings and ints always encode
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
