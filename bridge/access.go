package bridge

import (
	"net"
	"net/http"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/internal/subreq"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/topic"
)

// Access decides who may open a browser stream, what it may read and how
// many streams a client may hold, the same way for Server-Sent Events and
// WebSocket. Its errors are *refusal.Error values, which are gRPC statuses
// (Unauthenticated, PermissionDenied, ResourceExhausted): the transports
// answer them as HTTP 401, 403 and 429, and count them under
// refusal.Reason.
//
// An Access is immutable and safe for concurrent use.
type Access struct {
	auth   *auth.Authenticator
	limits *limits.Limiter
}

// NewAccess returns the Access of a transport. A nil Authenticator means
// an open server (everyone may read everything); a nil Limiter means the
// default limits.
func NewAccess(a *auth.Authenticator, l *limits.Limiter) *Access {
	if a == nil {
		// An empty Config always makes an open Authenticator.
		a, _ = auth.New(auth.Config{})
	}
	if l == nil {
		l = limits.New(limits.Config{})
	}
	return &Access{auth: a, limits: l}
}

// Limits returns the limits the Access enforces.
func (a *Access) Limits() *limits.Limiter { return a.limits }

// Authenticate returns the identity of the credential r carries: an
// "Authorization: Bearer …" header, the herald_token cookie, or the
// access_token query parameter (browsers can set no header on EventSource
// and WebSocket), in that order. The cookie counts only when origin, how
// r's origin was admitted, trusts it (Admission.CookieTrusted): a page of
// any site can make the browser send it. No credential is an anonymous
// client.
func (a *Access) Authenticate(r *http.Request, origin Admission) (*auth.Identity, error) {
	sources := auth.Header | auth.Query
	if origin.CookieTrusted() {
		sources |= auth.Cookie
	}
	credential, err := auth.FromRequest(r, sources)
	if err != nil {
		return nil, err
	}
	return a.Verify(credential)
}

// Verify returns the identity of a credential ("" for none), as the
// Authenticator does (an expired token is refused with token_expired).
func (a *Access) Verify(credential string) (*auth.Identity, error) {
	return a.auth.Authenticate(credential)
}

// ParsePatterns parses the topics and resume id of a subscription
// request as a Source does, with the same InvalidArgument errors, and
// returns the distinct patterns, for Authorize.
func ParsePatterns(topics []string, lastEventID string) ([]topic.Pattern, error) {
	req, err := subreq.Parse(topics, lastEventID)
	if err != nil {
		return nil, err
	}
	return req.Patterns, nil
}

// Authorize checks that id may subscribe to every one of patterns, and
// that a stream holding them stays within the topic limit.
func (a *Access) Authorize(id *auth.Identity, patterns []topic.Pattern) error {
	if err := id.AuthorizeSubscribe(patterns); err != nil {
		return err
	}
	return a.limits.CheckTopics(len(patterns))
}

// Connect admits one more stream or connection from r's client address,
// or refuses it with too_many_connections. release gives the slot back;
// call it exactly once, when the stream or connection ends.
func (a *Access) Connect(r *http.Request) (release func(), err error) {
	return a.limits.Connect(ClientIP(r.RemoteAddr))
}

// ClientIP is the address part of a request's RemoteAddr ("ip:port"),
// the key of the per-address connection limit. Behind a reverse proxy it
// is the proxy's address.
func ClientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
