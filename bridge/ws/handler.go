package ws

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/gateway"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/metrics"
)

// Handler serves GET /v1/ws: it upgrades requests to WebSocket
// connections that subscribe through a bridge.Source and speak the
// protocol of docs/browser-protocol.md. It is safe for concurrent use.
type Handler struct {
	src      bridge.Source
	cfg      Config
	log      *slog.Logger
	met      *metrics.Transport
	origins  *bridge.OriginPolicy
	access   *bridge.Access
	wheel    *bridge.Wheel // the clock of the coalescing window; nil when off
	upgrader websocket.Upgrader
	batches  sync.Pool // of *batch

	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing bool          // Shutdown began: refuse new connections
	drained chan struct{} // made by Shutdown; closed once conns is empty
	isDone  bool          // drained is closed
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler serving subscriptions from src.
func New(src bridge.Source, cfg Config) *Handler {
	cfg = cfg.withDefaults()
	h := &Handler{
		src:     src,
		cfg:     cfg,
		log:     cfg.Logger,
		met:     cfg.Metrics.Transport(metrics.TransportWS),
		origins: bridge.NewOriginPolicy(cfg.AllowedOrigins),
		access:  bridge.NewAccess(cfg.Auth, cfg.Limits),
		wheel:   bridge.NewWheel(cfg.CoalesceWindow),
		conns:   make(map[*conn]struct{}),
	}
	h.batches.New = func() any { return new(batch) }
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.WriteTimeout,
		// Zero: gorilla adopts the read buffer hijackWriter makes.
		// The connection's frames are written by its writer straight to
		// the TCP connection; gorilla's write buffer is never used. A pool
		// keeps gorilla from holding one per connection.
		WriteBufferPool: &sync.Pool{},
		// The origin was checked before the upgrade, to answer with the
		// JSON error body.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, code int, reason error) {
			h.refuse(w, "bad_handshake", &runtime.HTTPStatusError{
				HTTPStatus: code,
				Err:        status.Error(codeForHTTP(code), reason.Error()),
			})
		},
	}
	return h
}

// ServeHTTP checks the handshake, its credential and the limits (see
// access.go), starts the subscription its query asks for, upgrades the
// connection and starts the connection's reader and writer goroutines.
// Refusals are HTTP errors with the JSON error body: 400 for a bad topic,
// id or heartbeat, 401 for a missing, invalid or expired credential, 403
// for a refused origin or a topic outside the credential's claims, 429
// over a limit, 503 while shutting down.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.shuttingDown() {
		h.refuse(w, "unavailable", status.Error(codes.Unavailable,
			"server is shutting down; reconnect and resume from your last id"))
		return
	}
	origin := h.origins.Admit(r)
	if !origin.Allowed() {
		h.refuse(w, "forbidden_origin", status.Errorf(codes.PermissionDenied,
			"origin %s is not allowed; see --allowed-origins", quote(r.Header.Get("Origin"))))
		return
	}
	id, err := h.access.Authenticate(r, origin)
	if err != nil {
		h.refuseErr(w, r, err)
		return
	}
	// After the credential: a browser whose handshake failed can learn why
	// with a plain GET of the same URL (its WebSocket API hides the status).
	if !websocket.IsWebSocketUpgrade(r) {
		h.refuse(w, "bad_handshake", status.Error(codes.InvalidArgument,
			"this endpoint speaks WebSocket: send a WebSocket handshake (GET with Upgrade: websocket)"))
		return
	}
	q := r.URL.Query()
	interval, err := h.heartbeat(q)
	if err != nil {
		h.refuse(w, "invalid_argument", err)
		return
	}
	topics, lastEventID := q["topic"], q.Get("last_event_id")
	release, err := h.admit(r, id, topics, lastEventID)
	if err != nil {
		h.refuseErr(w, r, err)
		return
	}
	var sub bridge.Subscription
	if len(topics) > 0 {
		if sub, err = h.src.Subscribe(r.Context(), bridge.Request{Topics: topics, LastEventID: lastEventID}); err != nil {
			release()
			h.refuseErr(w, r, err)
			return
		}
	}

	hw := &hijackWriter{ResponseWriter: w}
	ws, err := h.upgrader.Upgrade(hw, r, nil)
	if err != nil {
		// The upgrader answered, unless the connection was hijacked first.
		release()
		if sub != nil {
			sub.Close()
		}
		if hw.raw != nil {
			_ = hw.raw.Close()
		}
		return
	}
	c := newConn(h, ws, hw, sub, id, release, interval, lastEventID)
	if h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "websocket opened",
			slog.String("remote", c.remote), slog.Any("topics", c.topics),
			slog.String("last_event_id", lastEventID), slog.Duration("heartbeat", interval))
	}
	h.register(c)
	c.start()
}

// heartbeat returns the heartbeat interval the query asks for, clamped to
// the allowed range, or the configured one.
func (h *Handler) heartbeat(q url.Values) (time.Duration, error) {
	s := q.Get("heartbeat")
	if s == "" {
		return h.cfg.HeartbeatInterval, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, status.Errorf(codes.InvalidArgument,
			"heartbeat %s is not a duration such as 15s (allowed: %v to %v)", quote(s), MinClientHeartbeat, MaxClientHeartbeat)
	}
	return min(max(d, MinClientHeartbeat), MaxClientHeartbeat), nil
}

// Shutdown closes every connection with 1001 (going away), telling
// clients to reconnect and resume, and refuses new ones with 503. It
// returns when all connections are gone, or when ctx ends: then it cuts
// the remaining ones off and returns ctx's error. It is safe to call more
// than once.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	if h.drained == nil {
		h.drained = make(chan struct{})
		h.closeIfDrained()
	}
	conns, drained := h.connList(), h.drained
	h.mu.Unlock()

	for _, c := range conns {
		c.end(discShutdown)
	}
	if err := bridge.WaitDrained(ctx, drained); err == nil {
		return nil
	}
	h.mu.Lock()
	conns = h.connList()
	h.mu.Unlock()
	for _, c := range conns {
		c.closeRaw()
	}
	return ctx.Err()
}

// connList returns the connections. h.mu must be held.
func (h *Handler) connList() []*conn {
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	return conns
}

// shuttingDown reports whether Shutdown began.
func (h *Handler) shuttingDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closing
}

// register adds a new connection. One that arrives while shutting down is
// told to end right away.
func (h *Handler) register(c *conn) {
	h.mu.Lock()
	h.conns[c] = struct{}{}
	closing := h.closing
	h.mu.Unlock()
	h.met.Connections.Inc()
	if closing {
		c.end(discShutdown)
	}
}

// remove drops a connection that has ended.
func (h *Handler) remove(c *conn) {
	h.met.Connections.Dec()
	h.mu.Lock()
	delete(h.conns, c)
	h.closeIfDrained()
	h.mu.Unlock()
}

// closeIfDrained closes drained once Shutdown has made it and no
// connection is left. h.mu must be held.
func (h *Handler) closeIfDrained() {
	if h.drained != nil && !h.isDone && len(h.conns) == 0 {
		close(h.drained)
		h.isDone = true
	}
}

// refuseErr refuses a handshake with err, a status error: a refusal of
// access or limits is counted under its reason, others under their code.
// Errors that are not meant for clients are logged and become "internal
// error".
func (h *Handler) refuseErr(w http.ResponseWriter, r *http.Request, err error) {
	reason := refusal.Reason(err)
	switch code := status.Code(err); code {
	case codes.Internal, codes.Unknown:
		h.log.LogAttrs(r.Context(), slog.LevelError, "websocket subscribe failed", slog.String("error", err.Error()))
		reason, err = gateway.CodeName(codes.Internal), status.Error(codes.Internal, "internal error")
	case codes.Canceled:
		return // the client went away
	default:
		if reason == "" {
			reason = gateway.CodeName(code)
		}
	}
	h.refuse(w, reason, err)
}

// refuse answers a refused handshake with err, a status error (or a
// runtime.HTTPStatusError around one), with the JSON error body of the
// HTTP API, and counts it under reason.
func (h *Handler) refuse(w http.ResponseWriter, reason string, err error) {
	h.met.Refuse(reason)
	gateway.WriteError(w, err)
}
