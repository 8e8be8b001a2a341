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

// Allowed reports whether r may be served: it has no Origin header (it is
// not a cross-origin browser request: browsers omit the header on
// same-origin GETs), its origin is the request's own host, or the origin
// is admitted by the policy.
func (p *OriginPolicy) Allowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	switch {
	case origin == "", p.any:
		return true
	case sameOrigin(origin, r.Host):
		return true
	case p.matcher != nil:
		return p.matcher.OriginAllowed(r)
	}
	return false
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
