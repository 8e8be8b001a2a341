package main

import (
	"strconv"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/limits"
)

// accessFlags are the settings that protect a server's own clients:
// credentials, limits, TLS and the HTTP header bound, shared by `herald
// serve` and `herald bridge`.
type accessFlags struct {
	auth           auth.Config
	tls            app.TLSConfig
	maxHeaderBytes int

	// Limits as the flags take them: 0 turns a limit off.
	maxConnections, maxConnectionsPerIP int
	publishRate, subscribeRate          float64
	publishBurst, subscribeBurst        int
	maxTopics                           int
}

// define adds the flags to c.
func (f *accessFlags) define(c *command) {
	a := &f.auth
	c.String(&a.HMACSecret, "auth-hmac-secret", "SECRET", "",
		"Verify tokens signed with this HMAC secret (HS256, HS384, HS512; at least 32 bytes). Better given as HERALD_AUTH_HMAC_SECRET: flags show in ps.")
	c.String(&a.PublicKeyFile, "auth-public-key", "FILE", "",
		"Verify tokens signed with the keys of this PEM file (RSA, ECDSA or Ed25519 public keys or certificates); reloaded when it changes.")
	c.String(&a.JWKSFile, "auth-jwks-file", "FILE", "",
		"Verify tokens signed with the keys of this JSON Web Key Set file (a token's kid picks its key); reloaded when it changes.")
	c.String(&a.Audience, "auth-audience", "AUD", "", "Accept only tokens whose aud claim holds this value.")
	c.String(&a.Issuer, "auth-issuer", "ISS", "", "Accept only tokens whose iss claim is this value.")
	c.String(&a.APIKeysFile, "api-keys-file", "FILE", "",
		"Accept the API keys of this JSON file, for services (see docs/security.md); reloaded when it changes.")
	c.List(&a.AllowAnonymous, "allow-anonymous", "PATTERNS",
		"With a credential setting: topic patterns clients without a credential may subscribe to (never publish), comma-separated; repeatable. Without one this is refused: with no credential setting at all, everyone may do everything (open mode, for local use only).")
	c.IntOrZero(&f.maxConnections, "max-connections", "N", limits.DefaultMaxConnections, strconv.Itoa(limits.DefaultMaxConnections),
		"Most streams and connections the server holds at once, all transports together (0: no limit).")
	c.IntOrZero(&f.maxConnectionsPerIP, "max-connections-per-ip", "N", limits.DefaultMaxConnectionsPerIP, strconv.Itoa(limits.DefaultMaxConnectionsPerIP),
		"Most streams and connections from one client address (0: no limit).")
	c.RateOrZero(&f.publishRate, "publish-rate", "PER_SECOND", limits.DefaultPublishRate, strconv.Itoa(limits.DefaultPublishRate),
		"Sustained publishes per second per token subject, API key, or address of an anonymous client (0: no limit).")
	c.Int(&f.publishBurst, "publish-burst", "N", limits.DefaultPublishBurst, "Publishes one of them may make at once.")
	c.RateOrZero(&f.subscribeRate, "subscribe-rate", "PER_SECOND", limits.DefaultSubscribeRate, strconv.Itoa(limits.DefaultSubscribeRate),
		"Sustained subscribe requests per second per connection (0: no limit).")
	c.Int(&f.subscribeBurst, "subscribe-burst", "N", limits.DefaultSubscribeBurst, "Subscribe requests a connection may make at once.")
	c.IntOrZero(&f.maxTopics, "max-topics-per-connection", "N", limits.DefaultMaxTopics, strconv.Itoa(limits.DefaultMaxTopics),
		"Most topics and patterns one connection may subscribe to (0: no limit).")
	c.Int(&f.maxHeaderBytes, "max-header-bytes", "BYTES", app.DefaultMaxHeaderBytes,
		"Largest headers of an HTTP request, the SSE and WebSocket handshakes included (a token cookie counts).")
	c.String(&f.tls.CertFile, "tls-cert-file", "FILE", "",
		"Serve TLS with the certificate chain of this PEM file (gRPC over TLS, HTTPS with HTTP/2); needs --tls-key-file. Reloaded when it changes.")
	c.String(&f.tls.KeyFile, "tls-key-file", "FILE", "", "The PEM private key of --tls-cert-file.")
}

// limits is the limits configuration the flags describe.
func (f *accessFlags) limits() limits.Config {
	return limits.Config{
		MaxConnections:      offIfZero(f.maxConnections),
		MaxConnectionsPerIP: offIfZero(f.maxConnectionsPerIP),
		PublishRate:         rateOffIfZero(f.publishRate),
		PublishBurst:        f.publishBurst,
		SubscribeRate:       rateOffIfZero(f.subscribeRate),
		SubscribeBurst:      f.subscribeBurst,
		MaxTopics:           offIfZero(f.maxTopics),
	}
}

// settings are the credentials, limits, TLS and header bound the flags
// describe, in the order of the fields of app.Config.
func (f *accessFlags) settings() (auth.Config, limits.Config, app.TLSConfig, int) {
	return f.auth, f.limits(), f.tls, f.maxHeaderBytes
}

// offIfZero maps a flag's 0 ("no limit") to the negative value that turns
// a limit off in limits.Config, where zero means the default.
func offIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// Lines `herald serve` and `herald bridge` print to stderr when they run
// without any credential setting.
const (
	openModeNotice       = "WARNING: open mode: no credential setting, so anyone who can reach this node can subscribe and publish to every topic. For local use only; see docs/security.md."
	bridgeOpenModeNotice = "WARNING: open mode: no credential setting, so anyone who can reach this bridge can subscribe to every topic its upstream serves it. For local use only; see docs/security.md."
)

// rateOffIfZero is offIfZero for rates.
func rateOffIfZero(r float64) float64 {
	if r == 0 {
		return -1
	}
	return r
}
