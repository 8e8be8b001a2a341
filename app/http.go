package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/bridge/sse"
	"github.com/heraldhq/herald/bridge/ws"
	"github.com/heraldhq/herald/gateway"
	"github.com/heraldhq/herald/internal/rawconn"
	"github.com/heraldhq/herald/metrics"
	"github.com/heraldhq/herald/web"
)

// browser is the pair of browser transports of a node or a bridge, serving
// the subscriptions of one source.
type browser struct {
	sse *sse.Handler
	ws  *ws.Handler
}

// frontSettings are what the HTTP port of a node or a bridge shares with
// the rest of it.
type frontSettings struct {
	heartbeat      time.Duration
	origins        []string
	browser        BrowserConfig
	maxHeaderBytes int
	security       security
	logger         *slog.Logger
	metrics        *metrics.Metrics
}

// newBrowser builds the SSE and WebSocket handlers over src.
func newBrowser(src bridge.Source, s frontSettings) browser {
	return browser{
		sse: sse.New(src, sse.Config{
			HeartbeatInterval: s.heartbeat,
			Retry:             s.browser.SSERetry,
			WriteTimeout:      s.browser.WriteTimeout,
			CoalesceWindow:    s.browser.CoalesceWindow,
			AllowedOrigins:    s.origins,
			Auth:              s.security.auth,
			Limits:            s.security.limits,
			Logger:            s.logger,
			Metrics:           s.metrics,
		}),
		ws: ws.New(src, ws.Config{
			HeartbeatInterval: s.heartbeat,
			WriteTimeout:      s.browser.WriteTimeout,
			CoalesceWindow:    s.browser.CoalesceWindow,
			AllowedOrigins:    s.origins,
			ReadLimit:         s.browser.WSReadLimit,
			Auth:              s.security.auth,
			Limits:            s.security.limits,
			Logger:            s.logger,
			Metrics:           s.metrics,
		}),
	}
}

// routes is the handler of the HTTP port: the browser transports (with the
// HTTP API's CORS policy), the demo page and its client, and the gateway
// for everything else (the API, health, readiness, metrics, and the 404s).
func (b browser) routes(gw http.Handler, origins []string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/sse", gateway.CORS(origins, b.sse))
	mux.Handle("/v1/ws", gateway.CORS(origins, b.ws))
	page := web.Handler()
	mux.Handle("/{$}", page)
	mux.Handle("/herald.js", page)
	mux.Handle("/herald.d.ts", page)
	mux.Handle("/", gw)
	return mux
}

// shutdown ends every browser stream and connection with a going-away
// notice, both transports at once, and returns when all have ended or ctx
// ends. http.Server.Shutdown waits for neither: SSE streams never end by
// themselves, and WebSocket connections are hijacked.
func (b browser) shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	var sseErr, wsErr error
	wg.Go(func() { sseErr = b.sse.Shutdown(ctx) })
	wg.Go(func() { wsErr = b.ws.Shutdown(ctx) })
	wg.Wait()
	// Both fail only with ctx's error, so one of them says it all.
	if err := cmp.Or(sseErr, wsErr); err != nil {
		return fmt.Errorf("app: browser streams did not end in time: %w", err)
	}
	return nil
}

// front is the HTTP port of a node or a bridge: its listener, and the
// browser transports and the gateway behind one HTTP server.
type front struct {
	httpLis     net.Listener
	browser     browser
	httpServer  *http.Server
	stopGateway context.CancelFunc // ends the gateway's background work
}

// listenHTTP opens the HTTP port on addr, bounding the unacknowledged data
// of its connections by the heartbeat interval (see boundUnacked).
func (f *front) listenHTTP(ctx context.Context, addr string, heartbeat time.Duration, log *slog.Logger) error {
	lis, err := listenTCP(ctx, addr)
	if err != nil {
		return fmt.Errorf("app: HTTP address: %w", err)
	}
	f.httpLis = boundUnacked(lis, heartbeat, log)
	return nil
}

// listenTCP listens on addr; the connections it accepts read and write
// with raw system calls (internal/rawconn, see docs/architecture.md).
func listenTCP(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return rawconn.Listener(lis), nil
}

// buildHTTP puts the gateway, calling conn, and the browser transports,
// serving the subscriptions of src, behind the HTTP server. gw is
// completed with the origins, authenticator, logger and metrics of s. The
// gateway lives until stopHTTP, not until the end of ctx.
func (f *front) buildHTTP(ctx context.Context, conn grpc.ClientConnInterface, gw gateway.Config, src bridge.Source, s frontSettings) error {
	gwCtx, stopGateway := context.WithCancel(context.WithoutCancel(ctx))
	f.stopGateway = stopGateway
	gw.AllowedOrigins, gw.Auth, gw.Logger, gw.Metrics = s.origins, s.security.auth, s.logger, s.metrics
	handler, err := gateway.New(gwCtx, conn, gw)
	if err != nil {
		return fmt.Errorf("app: HTTP gateway: %w", err)
	}
	f.browser = newBrowser(src, s)
	f.httpServer = newHTTPServer(f.browser.routes(handler, s.origins), s.security.tls, s.maxHeaderBytes, s.logger)
	return nil
}

// serveHTTP runs the HTTP server's accept loop, over TLS when it has a
// TLS configuration (its certificate comes from GetCertificate).
func (f *front) serveHTTP() error {
	if f.httpServer.TLSConfig != nil {
		return f.httpServer.ServeTLS(f.httpLis, "", "")
	}
	return f.httpServer.Serve(f.httpLis)
}

// stopHTTP stops the gateway and shuts the HTTP server down. Once ctx
// ends, the connections still open are closed at once and the error says
// so.
func (f *front) stopHTTP(ctx context.Context) error {
	f.stopGateway()
	if err := f.httpServer.Shutdown(ctx); err != nil {
		_ = f.httpServer.Close()
		return fmt.Errorf("app: HTTP server shutdown: %w", err)
	}
	return nil
}

// abandonHTTP releases what listenHTTP and buildHTTP made for a start
// that failed.
func (f *front) abandonHTTP() {
	if f.stopGateway != nil {
		f.stopGateway()
	}
	if f.httpLis != nil {
		_ = f.httpLis.Close()
	}
}

// newHTTPServer returns the HTTP server of a node or bridge. It speaks
// HTTP/1.1 and HTTP/2: over TLS when tlsConfig is set (browsers negotiate
// HTTP/2 by ALPN), otherwise in plain text with prior knowledge (h2c).
// Browsers allow only six HTTP/1.1 connections per host, so Server-Sent
// Events need HTTP/2 beyond six tabs; and HTTP/2 lets proxies and other
// clients carry many streams on one connection.
func newHTTPServer(h http.Handler, tlsConfig *tls.Config, maxHeaderBytes int, log *slog.Logger) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	if tlsConfig != nil {
		protocols.SetHTTP2(true)
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	return &http.Server{
		Handler:           h,
		Protocols:         &protocols,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       httpIdleTimeout,
		ConnState:         clearWriteDeadline,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// minUserTimeout is the least time the HTTP port's connections may keep
// sent data unacknowledged before the kernel aborts them (see
// boundUnacked): short enough to free a browser stream soon after its peer
// vanished, long enough for a lossy mobile network.
const minUserTimeout = 10 * time.Second

// boundUnacked wraps the HTTP port's listener so that every accepted
// connection is aborted by the kernel once data it sent stays
// unacknowledged for twice the heartbeat interval (at least
// minUserTimeout). A stream whose browser vanished without closing its
// connection (a laptop lid shut, a network gone) keeps getting heartbeats
// that are never acknowledged; without a bound TCP retransmits them for
// about fifteen minutes. With it the stream's handler returns within about
// two intervals of its last heartbeat. Data that is acknowledged, however
// slowly, never trips it.
func boundUnacked(lis net.Listener, heartbeat time.Duration, log *slog.Logger) net.Listener {
	return &unackedBound{Listener: lis, timeout: max(2*heartbeat, minUserTimeout), log: log}
}

// unackedBound is the listener of boundUnacked.
type unackedBound struct {
	net.Listener
	timeout time.Duration
	log     *slog.Logger
	warn    sync.Once
}

// Accept accepts a connection and bounds its unacknowledged data.
func (l *unackedBound) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := l.bound(c); err != nil {
		// Not fatal: keepalive and retransmission limits still apply.
		l.warn.Do(func() {
			l.log.LogAttrs(context.Background(), slog.LevelWarn,
				"cannot bound unacknowledged data on HTTP connections; dead peers are noticed later",
				slog.Any("err", err))
		})
	}
	return c, nil
}

// bound sets the kernel's bound on c's unacknowledged data; a connection
// without a socket (syscall.Conn) is left as it is.
func (l *unackedBound) bound(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	return setUserTimeout(raw, l.timeout)
}

// clearWriteDeadline clears the write deadline of an HTTP/1.1 connection
// that goes idle between requests. Streaming handlers (Server-Sent Events)
// set one before every write, and the server has no write timeout of its
// own that would reset it: without this, the next response on a reused
// connection would inherit a deadline meant for another.
func clearWriteDeadline(c net.Conn, state http.ConnState) {
	if state == http.StateIdle {
		_ = c.SetWriteDeadline(time.Time{})
	}
}
