package gateway

import (
	"net/http"
	"strings"

	"github.com/rs/cors"
)

// corsMaxAge is how long, in seconds, browsers may cache a preflight answer.
const corsMaxAge = 600

// corsHeaders are the request headers cross-origin callers may send.
var corsHeaders = []string{"Content-Type", "Authorization", "Idempotency-Key", "Last-Event-ID"}

// CORS wraps next with Herald's cross-origin policy for browser origins, the
// one the gateway applies to its /v1/ routes, so that other handlers on the
// same port (such as Server-Sent Events) can share it. allowedOrigins holds
// exact origins ("https://app.example.com") or origins with one wildcard
// ("https://*.example.com"); those are admitted with credentials. "*"
// admits every other origin too, without credentials. Empty admits none.
// Preflight requests (OPTIONS with Access-Control-Request-Method) for GET,
// POST and HEAD with the headers Content-Type, Authorization,
// Idempotency-Key and Last-Event-ID are answered 204 without calling next;
// an origin not admitted gets no Access-Control-Allow-* headers, so the
// browser refuses the call. Every answer varies by Origin. The returned
// handler is safe for concurrent use.
func CORS(allowedOrigins []string, next http.Handler) http.Handler {
	return newCORS(allowedOrigins)(next)
}

// newCORS returns the middleware CORS applies.
func newCORS(allowedOrigins []string) func(http.Handler) http.Handler {
	var listed []string
	anyOrigin := false
	for _, o := range allowedOrigins {
		switch o = strings.TrimSpace(o); o {
		case "":
		case "*":
			anyOrigin = true
		default:
			listed = append(listed, o)
		}
	}
	withCredentials := corsOptions(true)
	if len(listed) == 0 {
		withCredentials.AllowOriginFunc = func(string) bool { return false }
	} else {
		withCredentials.AllowedOrigins = listed
	}
	credentialed := cors.New(withCredentials)
	if !anyOrigin {
		return credentialed.Handler
	}
	anonymousOpts := corsOptions(false)
	anonymousOpts.AllowedOrigins = []string{"*"}
	anonymous := cors.New(anonymousOpts)
	return func(next http.Handler) http.Handler {
		withCreds, without := credentialed.Handler(next), anonymous.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Origin") != "" && credentialed.OriginAllowed(r) {
				withCreds.ServeHTTP(w, r)
				return
			}
			without.ServeHTTP(w, r)
		})
	}
}

// corsOptions are the options shared by both policies.
func corsOptions(credentials bool) cors.Options {
	return cors.Options{
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodHead},
		AllowedHeaders:   corsHeaders,
		MaxAge:           corsMaxAge,
		AllowCredentials: credentials,
	}
}
