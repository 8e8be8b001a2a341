// Package auth decides who a request acts for and what it may do, the same
// way on every transport.
//
// A client presents a credential: a JWT signed with an HMAC secret or an
// RSA, ECDSA or Ed25519 key (PEM file or JWKS file), or an API key from
// the API keys file. An Authenticator verifies it and returns an Identity:
// the subject, when its right ends, and the topic patterns it may
// subscribe and publish to. Token claims carry those patterns as
//
//	"herald": {"subscribe": ["news.>", "user.{sub}"], "publish": ["chat.{sub}"]}
//
// where {sub} stands for the token's subject, so that one pattern gives
// every user their own topics only.
//
// With nothing configured the Authenticator is open: everyone may do
// everything, as a local development server should. With any key
// configured, a request without a credential is refused unless anonymous
// access was allowed for some subscribe patterns.
//
// Tokens that verified are remembered for a while (see tokenCache), tied
// to the keys that verified them, so that a token presented again costs a
// lookup rather than a signature check.
//
// Refusals are *refusal.Error values: gRPC Unauthenticated for a missing,
// invalid or expired credential, PermissionDenied for a topic outside the
// claims (Unauthenticated for an anonymous client, who may still log in).
package auth
