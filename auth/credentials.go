package auth

import (
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/heraldhq/herald/internal/refusal"
)

// Where a credential travels.
const (
	// CookieName is the cookie that carries a token for browsers.
	CookieName = "herald_token"
	// QueryParam is the query parameter that carries a token on the
	// Server-Sent Events and WebSocket endpoints, whose browser APIs
	// cannot set headers.
	QueryParam = "access_token"
	// MetadataKey is the gRPC metadata key of the credential.
	MetadataKey = "authorization"
	// bearer is the scheme of the Authorization header.
	bearer = "Bearer "
)

// Sources says where FromRequest may look for a credential.
type Sources uint8

const (
	// Header is the Authorization: Bearer header.
	Header Sources = 1 << iota
	// Cookie is the herald_token cookie. Browsers send cookies with
	// cross-site requests, so a cookie must only ever authorize reads
	// (subscribing), never publishing: that would be cross-site request
	// forgery.
	Cookie
	// Query is the access_token query parameter. Query strings end up in
	// proxy logs and browser history; prefer the cookie where possible.
	Query
)

// FromRequest returns the credential of an HTTP request, looking in the
// allowed sources in the order header, cookie, query; "" when there is
// none. A malformed Authorization header is refused rather than ignored.
func FromRequest(r *http.Request, sources Sources) (string, error) {
	if sources&Header != 0 {
		switch v := r.Header.Values("Authorization"); len(v) {
		case 0:
		case 1:
			return parseBearer(v[0])
		default:
			return "", malformed("more than one Authorization header")
		}
	}
	if sources&Cookie != 0 {
		if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
			return c.Value, nil
		}
	}
	if sources&Query != 0 {
		switch v := r.URL.Query()[QueryParam]; len(v) {
		case 0:
		case 1:
			return v[0], nil
		default:
			return "", malformed("query parameter access_token given more than once")
		}
	}
	return "", nil
}

// FromMetadata returns the credential in incoming gRPC metadata
// ("authorization: Bearer …"); "" when there is none.
func FromMetadata(md metadata.MD) (string, error) {
	switch v := md.Get(MetadataKey); len(v) {
	case 0:
		return "", nil
	case 1:
		return parseBearer(v[0])
	default:
		return "", malformed("more than one authorization metadata value")
	}
}

// parseBearer returns the token of an "Authorization: Bearer <token>"
// value; the scheme is case-insensitive.
func parseBearer(v string) (string, error) {
	if len(v) < len(bearer) || !strings.EqualFold(v[:len(bearer)], bearer) {
		return "", malformed("authorization must be \"Bearer <token>\"")
	}
	tok := strings.TrimSpace(v[len(bearer):])
	if tok == "" {
		return "", malformed("authorization: empty bearer token")
	}
	return tok, nil
}

func malformed(msg string) error {
	return refusal.New(codes.Unauthenticated, refusal.InvalidToken, msg)
}
