package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/auth"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/metrics"
)

// DefaultMaxMessageSize is the raw publish body limit used when
// Config.MaxMessageSize is zero: 1 MiB, the server's default message size
// limit.
const DefaultMaxMessageSize = 1 << 20

// publishJSONOverhead is what the JSON body of POST /v1/publish may hold
// beside the base64 of a largest message: the topic, content type, event,
// idempotency key, field names and white space.
const publishJSONOverhead = 64 << 10

// DefaultBodyReadTimeout bounds reading the body of a publish request when
// Config.BodyReadTimeout is zero: ample for a largest message over a slow
// link, short enough that a client trickling its body cannot hold a
// connection and a buffer for long.
const DefaultBodyReadTimeout = 30 * time.Second

// Config configures the handler built by New. The zero value is usable: a
// 1 MiB body limit read within 30 seconds, credentials and limits left to
// the service, no cross-origin access, always ready, no logging and a fresh
// set of metrics.
type Config struct {
	// MaxMessageSize is the raw-publish body limit in bytes; 0 means
	// DefaultMaxMessageSize (1 MiB). It should equal the service's message
	// size limit. Negative values are refused.
	MaxMessageSize int
	// BodyReadTimeout bounds reading the body of a publish request,
	// counted from when the request reaches the gateway; a body that has not
	// arrived by then is refused with 408 and its connection freed. 0
	// means DefaultBodyReadTimeout (30s). Negative values are refused.
	BodyReadTimeout time.Duration
	// Auth verifies the credential of every API request before anything
	// else of it is read or checked, as the service would: a request
	// without a valid one is refused with 401 at once, before its body is
	// read. It should be the service's own authenticator; the service
	// still checks every call in full. Nil means an open gateway that
	// leaves credentials to the service.
	Auth *auth.Authenticator
	// Limits, when set, are applied by the gateway itself, after the
	// credential, to each HTTP client: the subscribe rate of its
	// connection and a connection slot for its address, held while its
	// subscribe stream lasts, and the publish rate of its identity (of its
	// address when anonymous). It is for a gateway in front of a remote
	// service (a bridge), which sees every call arrive over one
	// connection. Nil leaves the limits to the service, as for a node's
	// own gateway, whose in-process calls name each client.
	Limits *limits.Limiter
	// AllowedOrigins is the CORS allow-list for browser origins on the /v1/
	// routes: exact origins ("https://app.example.com") or origins with one
	// wildcard ("https://*.example.com"). Empty means no cross-origin
	// access; "*" admits any origin, without credentials.
	AllowedOrigins []string
	// Ready reports whether the server is ready for traffic: /readyz is 200
	// when it returns true and 503 otherwise. It is called on every /readyz
	// request and must be safe for concurrent use. Nil means always ready.
	Ready func() bool
	// Logger receives the gateway's log records. Nil discards them.
	Logger *slog.Logger
	// Metrics holds the instruments the gateway counts refusals in and
	// serves on /metrics. Nil means metrics.New().
	Metrics *metrics.Metrics
}

// gateway is the state behind the handler New returns. It is immutable
// after New and safe for concurrent use.
type gateway struct {
	ctx            context.Context // done when the gateway shuts down
	client         heraldv1.PubSubServiceClient
	mux            *runtime.ServeMux
	marshaler      runtime.Marshaler
	maxMessageSize int64 // raw publish body limit
	maxPublishBody int64 // JSON publish body limit
	bodyTimeout    time.Duration
	auth           *auth.Authenticator
	limits         *limits.Limiter // nil: the service applies the limits
	ready          func() bool
	logger         *slog.Logger
	metrics        *metrics.Metrics
	transport      *metrics.Transport
}

// New builds Herald's HTTP handler (see the package documentation for the
// routes and their behaviour). conn reaches Herald's gRPC service (the
// server dials itself in-process); ctx bounds the gateway's lifetime: once
// it is done, API calls are refused with 503 and open subscribe streams end.
// New returns an error wrapping ErrInvalidConfig for a nil ctx or conn or
// a negative MaxMessageSize or BodyReadTimeout.
func New(ctx context.Context, conn grpc.ClientConnInterface, cfg Config) (http.Handler, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", ErrInvalidConfig)
	}
	if conn == nil {
		return nil, fmt.Errorf("%w: no connection to the service", ErrInvalidConfig)
	}
	if cfg.MaxMessageSize < 0 {
		return nil, fmt.Errorf("%w: MaxMessageSize %d is negative", ErrInvalidConfig, cfg.MaxMessageSize)
	}
	if cfg.BodyReadTimeout < 0 {
		return nil, fmt.Errorf("%w: BodyReadTimeout %v is negative", ErrInvalidConfig, cfg.BodyReadTimeout)
	}
	g := &gateway{
		ctx:            ctx,
		client:         heraldv1.NewPubSubServiceClient(trackingConn{conn: conn}),
		marshaler:      newMarshaler(),
		maxMessageSize: int64(cfg.MaxMessageSize),
		bodyTimeout:    cfg.BodyReadTimeout,
		auth:           cfg.Auth,
		limits:         cfg.Limits,
		ready:          cfg.Ready,
		logger:         cfg.Logger,
		metrics:        cfg.Metrics,
	}
	if g.maxMessageSize == 0 {
		g.maxMessageSize = DefaultMaxMessageSize
	}
	if g.bodyTimeout == 0 {
		g.bodyTimeout = DefaultBodyReadTimeout
	}
	if g.auth == nil {
		// An empty auth.Config is open and cannot fail.
		g.auth, _ = auth.New(auth.Config{})
	}
	g.maxPublishBody = base64Len(g.maxMessageSize) + publishJSONOverhead
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	if g.metrics == nil {
		g.metrics = metrics.New()
	}
	g.transport = g.metrics.Transport(metrics.TransportGateway)
	g.mux = g.newServeMux()
	if err := heraldv1.RegisterPubSubServiceHandlerClient(ctx, g.mux, g.client); err != nil {
		return nil, fmt.Errorf("gateway: registering the service: %w", err)
	}
	return g.routes(cfg.AllowedOrigins), nil
}

// base64Len is the length of the padded standard base64 encoding of n bytes.
func base64Len(n int64) int64 { return (n + 2) / 3 * 4 }

// routes builds the top-level router.
func (g *gateway) routes(allowedOrigins []string) http.Handler {
	cors := newCORS(allowedOrigins)
	v1 := func(h http.Handler, methods ...string) http.Handler {
		return cors(g.methods(g.api(h), methods...))
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/publish", v1(g.admit(publishRoute, g.boundBody(g.mux, g.maxPublishBody)), http.MethodPost))
	mux.Handle("/v1/subscribe", v1(cookieCredential(g.admit(subscribeRoute, g.subscribeQuery(streamWriter(g.mux)))), http.MethodGet))
	mux.Handle("/v1/topics/{topic}", v1(g.admit(publishRoute, g.boundBody(http.HandlerFunc(g.publishRaw), g.maxMessageSize)), http.MethodPost))
	mux.Handle("/v1/", cors(http.HandlerFunc(g.notFound))) // so that browsers can read the 404
	mux.Handle("/healthz", g.methods(http.HandlerFunc(g.healthz), http.MethodGet, http.MethodHead))
	mux.Handle("/readyz", g.methods(http.HandlerFunc(g.readyz), http.MethodGet, http.MethodHead))
	mux.Handle("/metrics", g.methods(g.metrics.Handler(), http.MethodGet, http.MethodHead))
	mux.HandleFunc("/", g.notFound)
	return mux
}

// methods refuses requests whose method is not one of methods with 405 and
// an Allow header.
func (g *gateway) methods(next http.Handler, methods ...string) http.Handler {
	allow := strings.Join(methods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, m := range methods {
			if r.Method == m {
				next.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Allow", allow)
		g.writeError(w, r, &runtime.HTTPStatusError{
			HTTPStatus: http.StatusMethodNotAllowed,
			Err:        status.Errorf(codes.Unimplemented, "method %s is not allowed on %q; allowed: %s", r.Method, r.URL.Path, allow),
		})
	})
}

// notFound answers every path no route serves.
func (g *gateway) notFound(w http.ResponseWriter, r *http.Request) {
	g.writeError(w, r, status.Errorf(codes.NotFound, "no such endpoint: %s %q", r.Method, r.URL.Path))
}

// api prepares a request that calls the service: it ties the request's
// context to the gateway's, so that shutting down cancels the call, refuses
// the request once shutdown has begun, and tracks whether the service was
// reached (see reachedService).
func (g *gateway) api(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(context.WithValue(r.Context(), callKey{}, &apiCall{header: w.Header()}))
		defer cancel()
		stop := context.AfterFunc(g.ctx, cancel)
		defer stop()
		r = r.WithContext(ctx)
		if g.ctx.Err() != nil {
			g.writeError(w, r, errShuttingDown)
			return
		}
		next.ServeHTTP(w, r)
	})
}
