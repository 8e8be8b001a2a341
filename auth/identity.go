package auth

import (
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/topic"
)

// Kind says how an Identity was established.
type Kind int

const (
	// Anonymous is a client that presented no credential.
	Anonymous Kind = iota
	// Token is the holder of a verified JWT.
	Token
	// APIKey is a service that presented a key of the API keys file.
	APIKey
)

// String returns "anonymous", "token" or "api_key".
func (k Kind) String() string {
	switch k {
	case Token:
		return "token"
	case APIKey:
		return "api_key"
	default:
		return "anonymous"
	}
}

// Identity is who a request acts for and what it may do. It is immutable
// and safe for concurrent use.
type Identity struct {
	// Kind says how the identity was established.
	Kind Kind
	// Subject is the token's sub claim or the API key's name; empty for
	// an anonymous client.
	Subject string
	// Expires is when the credential stops being valid (the token's exp);
	// the zero time for a credential that does not expire. Streams opened
	// with the credential end then.
	Expires time.Time
	// Relay is set for the API key of a bridge node, whose streams carry
	// many clients' subscriptions: per-address and per-connection limits
	// are the bridge's to enforce, not the core's.
	Relay bool

	subscribe []topic.Pattern
	publish   []topic.Pattern
}

// NewIdentity returns an identity allowed the given patterns, which must
// already have {sub} expanded.
func NewIdentity(kind Kind, subject string, expires time.Time, subscribe, publish []topic.Pattern) *Identity {
	return &Identity{Kind: kind, Subject: subject, Expires: expires, subscribe: subscribe, publish: publish}
}

// everything is the pattern of the open mode.
var everything = topic.MustParsePattern(">")

// openIdentity is the identity of every client of an open Authenticator.
var openIdentity = &Identity{Kind: Anonymous, subscribe: []topic.Pattern{everything}, publish: []topic.Pattern{everything}}

// SubscribePatterns returns the patterns the identity may subscribe to.
// The caller must not modify the slice.
func (id *Identity) SubscribePatterns() []topic.Pattern { return id.subscribe }

// PublishPatterns returns the patterns the identity may publish to. The
// caller must not modify the slice.
func (id *Identity) PublishPatterns() []topic.Pattern { return id.publish }

// CanSubscribe reports whether the identity may subscribe to p: whether
// one of its subscribe patterns covers every topic p matches.
func (id *Identity) CanSubscribe(p topic.Pattern) bool {
	for _, allowed := range id.subscribe {
		if allowed.Covers(p) {
			return true
		}
	}
	return false
}

// CanPublish reports whether the identity may publish to the topic name.
func (id *Identity) CanPublish(name string) bool {
	for _, allowed := range id.publish {
		if allowed.Match(name) {
			return true
		}
	}
	return false
}

// AuthorizeSubscribe returns nil when the identity may subscribe to every
// one of patterns, or the refusal naming the first it may not.
func (id *Identity) AuthorizeSubscribe(patterns []topic.Pattern) error {
	for _, p := range patterns {
		if !id.CanSubscribe(p) {
			return id.denied("subscribe to", p.String())
		}
	}
	return nil
}

// AuthorizePublish returns nil when the identity may publish to the topic
// name, or the refusal.
func (id *Identity) AuthorizePublish(name string) error {
	if id.CanPublish(name) {
		return nil
	}
	return id.denied("publish to", name)
}

// denied is the refusal of an action on a topic: PermissionDenied for a
// verified holder, Unauthenticated for an anonymous client, who may get
// further with a credential.
func (id *Identity) denied(action, name string) error {
	if id.Kind == Anonymous {
		return refusal.New(codes.Unauthenticated, refusal.Unauthenticated,
			fmt.Sprintf("anonymous clients may not %s %q: present a token", action, name))
	}
	return refusal.New(codes.PermissionDenied, refusal.PermissionDenied,
		fmt.Sprintf("%s %q may not %s %q", id.Kind, id.Subject, action, name))
}

// Expired reports whether the identity's credential has expired at now.
func (id *Identity) Expired(now time.Time) bool {
	return !id.Expires.IsZero() && !now.Before(id.Expires)
}

// AtExpiry calls f in its own goroutine when the identity's credential
// expires, unless stop is called first (stop reports whether it prevented
// the call). For a credential that does not expire f is never called and
// stop reports true. Every transport ends its streams this way.
func (id *Identity) AtExpiry(f func()) (stop func() bool) {
	if id.Expires.IsZero() {
		return func() bool { return true }
	}
	return time.AfterFunc(time.Until(id.Expires), f).Stop
}

// ExpiredError is the refusal with which a stream ends when its
// credential expires: Unauthenticated, reason token_expired. The client
// should present a fresh token and resume from its last id.
func ExpiredError() error {
	return refusal.New(codes.Unauthenticated, refusal.TokenExpired,
		"token expired: reconnect with a fresh token and resume from the last event id")
}

// RateKey returns the key under which the identity's publishes are rate
// limited: "token:<sub>", "api_key:<name>", or "" for an anonymous client,
// whom the caller limits by address instead.
func (id *Identity) RateKey() string {
	if id.Kind == Anonymous {
		return ""
	}
	return id.Kind.String() + ":" + id.Subject
}
