package main

import (
	"context"
	"fmt"
	"io"

	"github.com/heraldhq/herald/app"
)

// bridgeFlags are the settings of `herald bridge`.
type bridgeFlags struct {
	cfg     app.BridgeConfig
	browser browserFlags
	access  accessFlags
	logFlags
}

func newBridgeCommand(f *bridgeFlags) *command {
	c := newCommand("bridge", "herald bridge --upstream HOST:PORT [flags]",
		`Serve browsers and HTTP clients in front of another Herald node: on
--http-addr, Server-Sent Events (/v1/sse), WebSocket (/v1/ws), the demo page
(/), the HTTP API (publishes and subscriptions are relayed to the upstream),
/healthz, /readyz (503 while the upstream is unreachable) and /metrics. It
has no engine of its own: browsers reading the same topics share one
Subscribe stream to the upstream's gRPC API (those resuming from an older
id replay on a catch-up stream first, one per id, then join it), HTTP API
subscriptions are relayed one by one, and ids are the upstream's, so
browsers resume across bridges. When the upstream goes away, streams end
with a going-away notice and browsers reconnect. SIGINT or SIGTERM stop it
gracefully.

The credential, limit and TLS flags protect the bridge's own clients, as in
'herald serve'; the HTTP API is relayed with each client's own credential,
so the upstream decides there. The bridge presents --upstream-token to the
upstream: as the credential of the subscriptions it makes on the browsers'
behalf, and beside each relayed request as the relay credential under which
the upstream believes the client address the bridge names. Make it an API
key of the upstream's keys file with "relay": true and the subscribe
patterns browsers may ask for (docs/security.md).`,
		"herald bridge --upstream herald-core:9090",
		"herald bridge --upstream 10.0.0.5:9090 --http-addr :8081 --allowed-origins https://app.example.com",
		"HERALD_AUTH_HMAC_SECRET=$(cat secret) HERALD_UPSTREAM_TOKEN=$(cat bridge.key) herald bridge --upstream herald-core:9090 --upstream-ca-file ca.pem",
	)
	d := app.DefaultConfig()
	cfg := &f.cfg
	c.String(&cfg.Upstream, "upstream", "ADDR", defaultServer, "gRPC address of the upstream Herald node (host:port).")
	c.String(&cfg.UpstreamToken, "upstream-token", "TOKEN", "",
		"Relay API key presented to the upstream for the browsers' subscriptions and beside relayed requests. Better given as HERALD_UPSTREAM_TOKEN: flags show in ps.")
	c.Bool(&cfg.UpstreamTLS, "upstream-tls", false, "Connect to the upstream over TLS, trusting the system's certificate authorities.")
	c.String(&cfg.UpstreamCAFile, "upstream-ca-file", "FILE", "",
		"Connect to the upstream over TLS, trusting the certificate authorities of this PEM file.")
	c.String(&cfg.HTTPAddr, "http-addr", "ADDR", d.HTTPAddr, "HTTP listen address (host:port).")
	c.Duration(&cfg.HeartbeatInterval, "heartbeat-interval", d.HeartbeatInterval, "Idle time after which a browser stream gets a heartbeat.")
	c.Int(&cfg.MaxMessageSize, "max-message-size", "BYTES", d.MaxMessageSize, "Largest message payload, in bytes; should equal the upstream's.")
	c.List(&cfg.AllowedOrigins, "allowed-origins", "ORIGINS", `Browser origins allowed cross-origin access, comma-separated ("https://app.example.com,https://*.example.com", or "*"); repeatable.`)
	c.Int(&cfg.QueueLen, "queue-len", "N", d.QueueLen, "Messages a browser may fall behind before it is disconnected as a slow consumer.")
	c.Duration(&cfg.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "Bound on a graceful shutdown.")
	f.browser.define(c, d.Browser)
	f.access.define(c)
	f.defineLog(c)
	return c
}

// appConfig is the bridge configuration the parsed flags describe,
// logging to stderr.
func (f *bridgeFlags) appConfig(stderr io.Writer) app.BridgeConfig {
	cfg := f.cfg
	cfg.Browser = f.browser.config()
	cfg.Auth, cfg.Limits, cfg.TLS, cfg.MaxHeaderBytes = f.access.settings()
	cfg.Logger = f.logger(stderr)
	return cfg
}

// runBridge runs a bridge until ctx ends.
func runBridge(ctx context.Context, args []string, e env) int {
	var f bridgeFlags
	rest, code, ok := parseFlags(newBridgeCommand(&f), args, e)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(e, "bridge", "unexpected argument %q", rest[0])
	}
	if f.cfg.Upstream == "" {
		return usageError(e, "bridge", "--upstream is required")
	}
	cfg := f.appConfig(e.stderr)
	if !cfg.Auth.Enabled() {
		fmt.Fprintln(e.stderr, "herald bridge: "+bridgeOpenModeNotice)
	}
	if err := app.RunBridge(ctx, cfg); err != nil {
		return failure(e, "bridge", err)
	}
	return exitOK
}
