package sse

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/gateway"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/metrics"
)

// Handler serves GET /v1/sse: one Server-Sent Events stream per request,
// over subscriptions of a bridge.Source. It is safe for concurrent use.
type Handler struct {
	src     bridge.Source
	cfg     Config
	log     *slog.Logger
	m       *metrics.Transport
	origins *bridge.OriginPolicy
	access  *bridge.Access
	wheel   *bridge.Wheel // the clock of the coalescing window; nil when off

	// stopping is cancelled with errGoingAway when Shutdown begins; every
	// stream's context ends with it.
	stopping context.Context
	stop     context.CancelCauseFunc

	mu      sync.Mutex
	active  int           // handlers running
	drained chan struct{} // closed once stopping and no handler runs
	closed  bool          // drained is closed
}

// New returns a Handler serving the subscriptions of src with cfg.
func New(src bridge.Source, cfg Config) *Handler {
	cfg = cfg.withDefaults()
	h := &Handler{
		src:     src,
		cfg:     cfg,
		log:     cfg.Logger,
		m:       cfg.Metrics.Transport(metrics.TransportSSE),
		origins: bridge.NewOriginPolicy(cfg.AllowedOrigins),
		access:  bridge.NewAccess(cfg.Auth, cfg.Limits),
		wheel:   bridge.NewWheel(cfg.CoalesceWindow),
		drained: make(chan struct{}),
	}
	h.stopping, h.stop = context.WithCancelCause(context.Background())
	return h
}

// ServeHTTP validates the request, checks its credential and limits (see
// access.go), subscribes, and streams events until the client leaves, the
// stream ends as a slow consumer, its credential expires, its source goes
// away, or the handler shuts down. A request that cannot be served gets
// an HTTP error with the JSON error body of the HTTP API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.enter() {
		h.refuse(w, r, status.Error(codes.Unavailable, reasonGoingAway.message))
		return
	}
	defer h.leave()

	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		h.refuse(w, r, &runtime.HTTPStatusError{
			HTTPStatus: http.StatusMethodNotAllowed,
			Err:        status.Errorf(codes.Unimplemented, "method %s is not allowed on %q; allowed: GET", r.Method, r.URL.Path),
		})
		return
	}
	origin := h.origins.Admit(r)
	if !origin.Allowed() {
		// Counted apart from permission_denied, the refusal of a topic
		// outside a token's claims.
		h.refuseAs(w, r, "forbidden_origin", &runtime.HTTPStatusError{
			HTTPStatus: http.StatusForbidden,
			Err:        status.Errorf(codes.PermissionDenied, "origin %q is not allowed", clip(r.Header.Get("Origin"))),
		})
		return
	}
	id, err := h.access.Authenticate(r, origin)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	p, err := h.parse(r)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	release, err := h.admit(r, id, p)
	if err != nil {
		h.refuse(w, r, err)
		return
	}

	// The stream ends with the client's request, with Shutdown, or when
	// its credential expires. Its context does not derive its end from
	// the request's: a hijacked connection (see conn.go) outlives the
	// request, and its own watcher tells when its client leaves.
	reqCtx := r.Context()
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(reqCtx))
	clientGone := context.AfterFunc(reqCtx, func() { cancel(context.Cause(reqCtx)) })
	stopOnShutdown := context.AfterFunc(h.stopping, func() { cancel(errGoingAway) })
	stopOnExpiry := id.AtExpiry(func() { cancel(errTokenExpired) })
	end := func() {
		stopOnExpiry()
		stopOnShutdown()
		clientGone()
		cancel(nil)
		release()
	}

	sub, err := h.src.Subscribe(ctx, bridge.Request{Topics: p.topics, LastEventID: p.lastEventID})
	if err != nil {
		if ctx.Err() != nil {
			switch cause := context.Cause(ctx); {
			case errors.Is(cause, errGoingAway):
				err = status.Error(codes.Unavailable, reasonGoingAway.message)
			case errors.Is(cause, errTokenExpired):
				err = auth.ExpiredError()
			}
		}
		end()
		h.refuse(w, r, err)
		return
	}

	s := newStream(h, w, r, ctx, sub, p)
	h.m.Connections.Inc()
	h.m.Subscriptions.Inc()
	finish := func() {
		if s.hc != nil {
			s.closeConn()
		}
		s.release()
		h.m.Subscriptions.Dec()
		h.m.Connections.Dec()
		sub.Close()
		end()
	}
	if s.hijack() {
		// The stream goes on without this goroutine, whose stack is deep,
		// and net/http lets go of the connection's buffers as this handler
		// returns. The first frames are written from here, the events on a
		// goroutine of the stream's own that waits in a shallow stack.
		clientGone()
		s.hc.watch(cancel)
		if !s.begin() {
			finish()
			return
		}
		h.enterHijacked()
		go s.relayOn(func() {
			finish()
			h.leave()
		})
		return
	}
	defer finish()
	s.run()
}

// Shutdown ends every stream with a herald.error going_away event, refuses
// new ones with 503, and returns once every handler has returned or ctx
// ends, with ctx's error then. It is safe to call more than once and
// concurrently; http.Server.Shutdown does not wait for streams to end by
// themselves, so call this first (or from RegisterOnShutdown).
func (h *Handler) Shutdown(ctx context.Context) error {
	h.stop(errGoingAway)
	h.mu.Lock()
	h.closeIfDrained()
	h.mu.Unlock()
	return bridge.WaitDrained(ctx, h.drained)
}

// enter counts a handler in, unless Shutdown has begun.
func (h *Handler) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopping.Err() != nil {
		return false
	}
	h.active++
	return true
}

// enterHijacked counts in a stream that goes on after its handler
// returns; its goroutine calls leave. It is called while the handler is
// still counted, so Shutdown cannot have drained meanwhile.
func (h *Handler) enterHijacked() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.active++
}

// leave counts a handler out.
func (h *Handler) leave() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.active--
	h.closeIfDrained()
}

// closeIfDrained closes drained once Shutdown has begun and no handler
// runs. h.mu must be held.
func (h *Handler) closeIfDrained() {
	if h.active == 0 && h.stopping.Err() != nil && !h.closed {
		h.closed = true
		close(h.drained)
	}
}

// refuse answers a request that cannot be served with the HTTP API's JSON
// error, counting the refusal: under its reason for a refusal of access or
// limits, under its code otherwise. Errors that are no gRPC status are
// logged and answered as internal errors.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	h.refuseAs(w, r, "", err)
}

// refuseAs is refuse with the refusal counted under label, unless label is
// empty.
func (h *Handler) refuseAs(w http.ResponseWriter, r *http.Request, label string, err error) {
	code := codes.Unknown
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		code = status.Code(hse.Err)
	} else if st, ok := status.FromError(err); ok {
		code = st.Code()
	} else {
		h.log.LogAttrs(r.Context(), slog.LevelError, "sse: subscribe failed", slog.String("err", err.Error()))
	}
	switch reason := refusal.Reason(err); {
	case label != "":
		h.m.Refuse(label)
	case reason != "":
		h.m.Refuse(reason)
	case code == codes.Unknown, code == codes.Internal, code == codes.Canceled:
	default:
		h.m.Refuse(gateway.CodeName(code))
	}
	if h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "sse: request refused",
			slog.String("code", code.String()), slog.String("err", err.Error()))
	}
	gateway.WriteError(w, err)
}

// clip cuts a client-supplied value short for an error message.
func clip(s string) string {
	const limit = 64
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}

// params are the validated query parameters of a request.
type params struct {
	topics      []string
	lastEventID string
	heartbeat   time.Duration
	envelope    bool
	resumes     bool // the client gave an id to resume after
}
