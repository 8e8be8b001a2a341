package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
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

// Config configures the handler built by New. The zero value is usable: a
// 1 MiB body limit, no cross-origin access, always ready, no logging and a
// fresh set of metrics.
type Config struct {
	// MaxMessageSize is the raw-publish body limit in bytes; 0 means
	// DefaultMaxMessageSize (1 MiB). It should equal the service's message
	// size limit. Negative values are refused.
	MaxMessageSize int
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
// a negative MaxMessageSize.
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
	g := &gateway{
		ctx:            ctx,
		client:         heraldv1.NewPubSubServiceClient(trackingConn{conn: conn}),
		marshaler:      newMarshaler(),
		maxMessageSize: int64(cfg.MaxMessageSize),
		ready:          cfg.Ready,
		logger:         cfg.Logger,
		metrics:        cfg.Metrics,
	}
	if g.maxMessageSize == 0 {
		g.maxMessageSize = DefaultMaxMessageSize
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
	mux.Handle("/v1/publish", v1(g.limitBody(g.mux, g.maxPublishBody), http.MethodPost))
	mux.Handle("/v1/subscribe", v1(cookieCredential(g.subscribeQuery(streamWriter(g.mux))), http.MethodGet))
	mux.Handle("/v1/topics/{topic}", v1(http.HandlerFunc(g.publishRaw), http.MethodPost))
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
