package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/heraldhq/herald/metrics"
	"github.com/heraldhq/herald/server"
)

// reservedPrefix is the metadata namespace only Herald itself sets: HTTP
// headers that would map into it are dropped. The gateway sets
// server.TransportHeader and server.ClientAddrHeader in it.
const reservedPrefix = "x-herald-"

// newMarshaler returns the JSON marshaler of every gateway response: proto
// field names, every field present, unknown input fields refused.
func newMarshaler() *runtime.JSONPb {
	return &runtime.JSONPb{
		MarshalOptions: protojson.MarshalOptions{
			UseProtoNames:   true,
			EmitUnpopulated: true,
		},
		UnmarshalOptions: protojson.UnmarshalOptions{
			DiscardUnknown: false,
		},
	}
}

// newServeMux returns the grpc-gateway mux the service is registered on.
func (g *gateway) newServeMux() *runtime.ServeMux {
	return runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, g.marshaler),
		runtime.WithErrorHandler(g.handleError),
		runtime.WithStreamErrorHandler(g.streamError),
		runtime.WithMetadata(callMetadata),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithForwardResponseOption(g.flushStreamHeaders),
		// Routes and methods are fixed by Herald's contract: no POST
		// standing in for a GET, no method override header.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
	)
}

// callMetadata marks every call as arriving through the gateway and names
// the HTTP client it acts for by its address (host:port), by which the
// service applies its per-address limits. The service believes that
// address only on the in-process connection.
func callMetadata(_ context.Context, r *http.Request) metadata.MD {
	return metadata.Pairs(
		server.TransportHeader, metrics.TransportGateway,
		server.ClientAddrHeader, r.RemoteAddr,
	)
}

// incomingHeader maps request headers to metadata as grpc-gateway does by
// default, but never into Herald's reserved namespace, so that a client
// cannot pass for another transport with a Grpc-Metadata-X-Herald-… header.
func incomingHeader(key string) (string, bool) {
	md, ok := runtime.DefaultHeaderMatcher(key)
	if !ok || strings.HasPrefix(strings.ToLower(md), reservedPrefix) {
		return "", false
	}
	return md, true
}

// outgoingHeader passes the service's response header metadata on as
// Grpc-Metadata-… headers, as grpc-gateway does by default, except the gRPC
// content type, which says nothing to an HTTP client.
func outgoingHeader(key string) (string, bool) {
	if key == "content-type" {
		return "", false
	}
	return runtime.MetadataHeaderPrefix + key, true
}

// flushStreamHeaders sends a subscribe stream's response headers as soon as
// the service has accepted the subscription instead of with the first frame,
// so that clients see the response at once. grpc-gateway calls it with a nil
// message before a stream's first frame (and with each message, which it
// ignores). When the service sent no header metadata, it refused or ended
// the stream at once: the headers are then left to the runtime, which
// answers with the mapped HTTP status.
func (g *gateway) flushStreamHeaders(ctx context.Context, w http.ResponseWriter, m proto.Message) error {
	if m != nil {
		return nil
	}
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok || md.HeaderMD == nil {
		return nil
	}
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", g.marshaler.ContentType(nil))
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // keep reverse proxies from buffering the stream
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil && g.logger.Enabled(ctx, slog.LevelDebug) {
		// The client is gone or the writer cannot flush; the stream's first
		// write reports it the same way.
		g.logger.DebugContext(ctx, "flushing subscribe stream headers", "err", err)
	}
	return nil
}

// apiCall records what happened to one API request.
type apiCall struct {
	reached atomic.Bool // a call to the service was started
	// header is the response's header, for the refusal headers of a
	// subscribe stream's error (see streamError). It is used by the
	// request's goroutine only.
	header http.Header
}

// callKey is the context key of a request's *apiCall.
type callKey struct{}

// reachedService reports whether the request whose context is ctx started a
// call to the service. Refusals made before that are the gateway's own and
// counted by it; the service counts its own.
func reachedService(ctx context.Context) bool {
	c, ok := ctx.Value(callKey{}).(*apiCall)
	return ok && c.reached.Load()
}

// trackingConn is the service connection as the gateway's client sees it:
// it notes on each request's *apiCall that the service was reached.
type trackingConn struct {
	conn grpc.ClientConnInterface
}

var _ grpc.ClientConnInterface = trackingConn{}

func markReached(ctx context.Context) {
	if c, ok := ctx.Value(callKey{}).(*apiCall); ok {
		c.reached.Store(true)
	}
}

// Invoke performs a unary call.
func (t trackingConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	markReached(ctx)
	return t.conn.Invoke(ctx, method, args, reply, opts...)
}

// NewStream begins a streaming call.
func (t trackingConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	markReached(ctx)
	return t.conn.NewStream(ctx, desc, method, opts...)
}
