package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/internal/tlsfiles"
	"github.com/heraldhq/herald/limits"
)

// TLSConfig names the certificate of a server. With both files set the
// node serves gRPC over TLS and HTTPS (HTTP/2 and HTTP/1.1) instead of
// plain text. The files are looked at every ReloadInterval and a changed
// pair is served to new connections; a pair that does not load is logged
// and the previous one stays in service.
type TLSConfig struct {
	// CertFile is the PEM certificate chain, the server's first.
	CertFile string
	// KeyFile is the PEM private key of the certificate.
	KeyFile string
	// ReloadInterval is how often the files are looked at for a change.
	// Default 5s.
	ReloadInterval time.Duration
}

// Enabled reports whether a certificate is configured.
func (c TLSConfig) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" }

// check refuses half a certificate setting.
func (c TLSConfig) check() error {
	if c.Enabled() && (c.CertFile == "" || c.KeyFile == "") {
		return fmt.Errorf("%w: TLS needs both a certificate file and a key file", ErrInvalidConfig)
	}
	return nil
}

// security is what a node or a bridge enforces on its own clients: one
// Authenticator and one Limiter shared by every transport, and the TLS
// configuration of its listeners (nil for plain text).
type security struct {
	auth   *auth.Authenticator
	limits *limits.Limiter
	tls    *tls.Config
}

// newSecurity builds the security of a node or a bridge, logging key and
// certificate files that change into something unusable.
func newSecurity(a auth.Config, l limits.Config, t TLSConfig, log *slog.Logger) (security, error) {
	var s security
	var err error
	if t.Enabled() {
		s.tls, err = tlsfiles.Server(t.CertFile, t.KeyFile, tlsfiles.Options{
			Interval:      t.ReloadInterval,
			OnReloadError: reloadLogger(log, "tls"),
		})
		if err != nil {
			return s, fmt.Errorf("app: %w", err)
		}
	}
	if a.OnReloadError == nil {
		a.OnReloadError = reloadLogger(log, "auth")
	}
	if s.auth, err = auth.New(a); err != nil {
		return s, fmt.Errorf("app: %w", err)
	}
	s.limits = limits.New(l)
	return s, nil
}

// grpcTLS returns the TLS configuration of the gRPC listener: the node's,
// offering HTTP/2 only, as gRPC requires. Nil stays nil (plain text).
func grpcTLS(c *tls.Config) *tls.Config {
	if c == nil {
		return nil
	}
	c = c.Clone()
	c.NextProtos = []string{"h2"}
	return c
}

// reloadLogger returns a callback that logs a key or certificate file
// that changed but cannot be used.
func reloadLogger(log *slog.Logger, component string) func(error) {
	return func(err error) {
		log.LogAttrs(context.Background(), slog.LevelError,
			"a changed key or certificate file cannot be used; the previous one stays in service",
			slog.String("component", component), slog.Any("err", err))
	}
}

// openModeWarning is what a node logs at start when no credential is
// configured.
const openModeWarning = "OPEN MODE: no credential is configured, so ANYONE who can reach this node can subscribe and publish to EVERY topic. " +
	"This is for local use only: configure tokens or API keys before exposing it (see docs/security.md)"

// bridgeOpenModeWarning is the bridge's open-mode warning. Its HTTP API
// relays the clients' own credentials, so the upstream still decides who
// publishes there.
const bridgeOpenModeWarning = "OPEN MODE: no credential is configured, so ANYONE who can reach this bridge can subscribe over SSE and WebSocket to EVERY topic its upstream lets it read. " +
	"This is for local use only: configure tokens or API keys before exposing it (see docs/security.md)"

// logAccess says at start who may do what: warning in open mode,
// otherwise the credential methods in force (never a secret) and what
// anonymous clients may subscribe to.
func logAccess(ctx context.Context, log *slog.Logger, cfg auth.Config, warning string) {
	if !cfg.Enabled() {
		log.LogAttrs(ctx, slog.LevelWarn, warning)
		return
	}
	var methods []string
	if cfg.HMACSecret != "" {
		methods = append(methods, "hmac")
	}
	if cfg.PublicKeyFile != "" {
		methods = append(methods, "public_key_file")
	}
	if cfg.JWKSFile != "" {
		methods = append(methods, "jwks_file")
	}
	if cfg.APIKeysFile != "" {
		methods = append(methods, "api_keys_file")
	}
	anonymous := "refused"
	if len(cfg.AllowAnonymous) > 0 {
		anonymous = "may subscribe to " + strings.Join(cfg.AllowAnonymous, ", ")
	}
	attrs := []slog.Attr{
		slog.String("methods", strings.Join(methods, ",")),
		slog.String("anonymous", anonymous),
	}
	if cfg.Audience != "" {
		attrs = append(attrs, slog.String("audience", cfg.Audience))
	}
	if cfg.Issuer != "" {
		attrs = append(attrs, slog.String("issuer", cfg.Issuer))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "authentication required", attrs...)
}
