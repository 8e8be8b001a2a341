package bridge

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"
)

// OriginPolicy decides which browser origins may open a stream: the check
// behind the 403 a transport answers for a refused origin. It admits the
// same origins as the HTTP API's CORS policy (gateway.CORS), so that one
// --allowed-origins setting governs every route.
//
// An OriginPolicy is immutable and safe for concurrent use.
type OriginPolicy struct {
	any     bool
	matcher *cors.Cors // nil when no origin is listed
}

// Admission is how an OriginPolicy admitted a request, or that it did not.
// It decides, besides whether the request is served, whether the
// request's cookies may carry its credential (see Access.Authenticate).
type Admission uint8

// The ways a request's origin is admitted, or not.
const (
	// OriginRefused: the origin is not allowed; the request is refused.
	OriginRefused Admission = iota
	// OriginAbsent: the request has no Origin header. It is no request
	// whose answer a page of another site could read: browsers send the
	// header with every cross-origin fetch, EventSource and WebSocket.
	OriginAbsent
	// OriginSame: the origin is the request's own host.
	OriginSame
	// OriginListed: the origin is listed, exactly or by a wildcard
	// pattern such as "https://*.example.com".
	OriginListed
	// OriginAny: the origin is another site's and admitted only by the
	// "*" entry. Any page may send such a request, and the browser adds
	// the user's cookies to it; a WebSocket handshake has no CORS check
	// to keep the page from reading the answer.
	OriginAny
)

// Allowed reports whether the request is served.
func (a Admission) Allowed() bool { return a != OriginRefused }

// CookieTrusted reports whether the request's cookies may carry its
// credential: not when its origin is admitted only by "*", or else any
// site could open a stream with the user's cookie and read it.
func (a Admission) CookieTrusted() bool {
	return a == OriginAbsent || a == OriginSame || a == OriginListed
}

// NewOriginPolicy returns the policy for allowed: exact origins
// ("https://app.example.com"), origins with one wildcard
// ("https://*.example.com"), or "*" for every origin. Empty entries are
// ignored.
func NewOriginPolicy(allowed []string) *OriginPolicy {
	p := &OriginPolicy{}
	var listed []string
	for _, o := range allowed {
		switch o = strings.TrimSpace(o); o {
		case "":
		case "*":
			p.any = true
		default:
			listed = append(listed, o)
		}
	}
	if len(listed) > 0 {
		p.matcher = cors.New(cors.Options{AllowedOrigins: listed})
	}
	return p
}

// Admit returns how r's origin is admitted: r has no Origin header, its
// origin is the request's own host, it is listed, it is admitted only by
// "*", or it is refused, checked in that order.
func (p *OriginPolicy) Admit(r *http.Request) Admission {
	origin := r.Header.Get("Origin")
	switch {
	case origin == "":
		return OriginAbsent
	case sameOrigin(origin, r.Host):
		return OriginSame
	case p.matcher != nil && p.matcher.OriginAllowed(r):
		return OriginListed
	case p.any:
		return OriginAny
	}
	return OriginRefused
}

// sameOrigin reports whether origin names host (host[:port], as in the
// request's Host header), ignoring case.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}
