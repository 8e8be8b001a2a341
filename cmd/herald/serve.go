package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/server"
)

// serveFlags are the settings of `herald serve`.
type serveFlags struct {
	cfg     app.Config
	browser browserFlags
	access  accessFlags
	logFlags
	// permitPingsWithoutStream is the inverse of
	// cfg.Keepalive.RefusePingsWithoutStream, named as grpc names it.
	permitPingsWithoutStream bool
}

func newServeCommand(f *serveFlags) *command {
	c := newCommand("serve", "herald serve [flags]",
		`Run a Herald node on the embedded in-memory engine: the gRPC API (with
health and reflection) on --grpc-addr, and on --http-addr the HTTP API (JSON
gateway, raw publish, /healthz, /readyz, /metrics), Server-Sent Events
(/v1/sse), WebSocket (/v1/ws) and a demo page (/). The HTTP port speaks
HTTP/1.1 and HTTP/2 with prior knowledge (h2c); with --tls-cert-file, gRPC
is served over TLS and the HTTP port as HTTPS with HTTP/2 and HTTP/1.1.
Without any credential setting (--auth-hmac-secret, --auth-public-key,
--auth-jwks-file, --api-keys-file) the node is open: anyone may subscribe
and publish to every topic, which is for local use only (docs/security.md).
SIGINT or SIGTERM stop it gracefully: subscribers are told to reconnect,
and the node exits within --shutdown-timeout. This is the default command.`,
		"herald serve",
		"herald serve --grpc-addr 127.0.0.1:9090 --http-addr 127.0.0.1:8080 --history-size 10000",
		"HERALD_HEARTBEAT_INTERVAL=5s HERALD_ALLOWED_ORIGINS=https://app.example.com herald serve --log-format json",
		"HERALD_AUTH_HMAC_SECRET=$(cat secret) herald serve --allow-anonymous 'public.>' --tls-cert-file cert.pem --tls-key-file key.pem",
	)
	d := app.DefaultConfig()
	k := server.DefaultKeepalive()
	cfg := &f.cfg
	c.String(&cfg.GRPCAddr, "grpc-addr", "ADDR", d.GRPCAddr, "gRPC listen address (host:port; port 0 picks a free port).")
	c.String(&cfg.HTTPAddr, "http-addr", "ADDR", d.HTTPAddr, "HTTP listen address (host:port).")
	c.Duration(&cfg.HeartbeatInterval, "heartbeat-interval", d.HeartbeatInterval, "Idle time after which a stream gets a heartbeat, on every transport.")
	c.Int(&cfg.HistorySize, "history-size", "N", d.HistorySize, "Messages retained per topic for resuming subscribers.")
	c.Duration(&cfg.HistoryTTL, "history-ttl", d.HistoryTTL, "How long a message is retained.")
	c.Int(&cfg.MaxMessageSize, "max-message-size", "BYTES", d.MaxMessageSize, "Largest message payload, in bytes.")
	c.List(&cfg.AllowedOrigins, "allowed-origins", "ORIGINS", `Browser origins allowed cross-origin access, comma-separated ("https://app.example.com,https://*.example.com", or "*"); repeatable.`)
	c.Int(&cfg.QueueLen, "queue-len", "N", d.QueueLen, "Messages a subscriber may fall behind before it is disconnected as a slow consumer.")
	c.Duration(&cfg.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "Bound on a graceful shutdown.")
	f.browser.define(c, d.Browser)
	f.access.define(c)
	c.Duration(&cfg.Keepalive.Time, "keepalive-time", k.Time, "gRPC: ping a connection after this long without traffic from the client.")
	c.Duration(&cfg.Keepalive.Timeout, "keepalive-timeout", k.Timeout, "gRPC: close a connection whose ping is not answered within this time.")
	c.Duration(&cfg.Keepalive.MinTime, "keepalive-min-time", k.MinTime, "gRPC: shortest interval between client pings; clients pinging more often are disconnected.")
	c.Bool(&f.permitPingsWithoutStream, "keepalive-permit-without-stream", !k.RefusePingsWithoutStream, "gRPC: allow client pings on connections without an active call (false: such pings get GOAWAY too_many_pings). Clients keep idle connections through NATs and load balancers this way.")
	c.DurationOrZero(&cfg.Keepalive.MaxConnectionIdle, "max-connection-idle", k.MaxConnectionIdle, "gRPC: close connections without calls for this long (0: never).")
	c.DurationOrZero(&cfg.Keepalive.MaxConnectionAge, "max-connection-age", k.MaxConnectionAge, "gRPC: ask connections this old to reconnect, e.g. to rebalance (0: never).")
	c.DurationOrZero(&cfg.Keepalive.MaxConnectionAgeGrace, "max-connection-age-grace", k.MaxConnectionAgeGrace, "gRPC: time calls may go on after --max-connection-age before the connection closes (0: no limit).")
	f.defineLog(c)
	return c
}

// appConfig is the node configuration the parsed flags describe, logging
// to stderr.
func (f *serveFlags) appConfig(stderr io.Writer) app.Config {
	cfg := f.cfg
	cfg.Browser = f.browser.config()
	cfg.Auth, cfg.Limits, cfg.TLS, cfg.MaxHeaderBytes = f.access.settings()
	cfg.Keepalive.RefusePingsWithoutStream = !f.permitPingsWithoutStream
	cfg.Logger = f.logger(stderr)
	return cfg
}

// runServe runs a node until ctx ends.
func runServe(ctx context.Context, args []string, e env) int {
	var f serveFlags
	rest, code, ok := parseFlags(newServeCommand(&f), args, e)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(e, "serve", "unexpected argument %q", rest[0])
	}
	cfg := f.appConfig(e.stderr)
	if !cfg.Auth.Enabled() {
		fmt.Fprintln(e.stderr, "herald serve: "+openModeNotice)
	}
	if err := app.Run(ctx, cfg); err != nil {
		return failure(e, "serve", err)
	}
	return exitOK
}

// logFlags are the log settings of `herald serve` and `herald bridge`.
type logFlags struct {
	logLevel  string
	logFormat string
}

// defineLog adds the flags to c.
func (f *logFlags) defineLog(c *command) {
	c.Enum(&f.logLevel, "log-level", []string{"debug", "info", "warn", "error"}, "info", "Lowest level of the log records written to stderr.")
	c.Enum(&f.logFormat, "log-format", []string{"text", "json"}, "text", "Log format.")
}

// logger returns the logger the flags describe, writing to w; level and
// format were validated by their flags.
func (f *logFlags) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(f.logLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if f.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
