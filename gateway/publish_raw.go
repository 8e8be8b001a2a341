package gateway

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// rawPublishPattern is the route of raw publishing, as grpc-gateway would
// write it.
const rawPublishPattern = "/v1/topics/{topic}"

// Query parameters of raw publishing.
const (
	paramEvent          = "event"
	paramIdempotencyKey = "idempotency_key"
)

// publishRaw serves POST /v1/topics/{topic}: the request body, byte for
// byte, is the message data and the Content-Type header its content type.
// Beyond UTF-8, which protobuf strings need, the service validates the topic
// and every field, so that its error texts are the same on every transport.
func (g *gateway) publishRaw(w http.ResponseWriter, r *http.Request) {
	req, err := rawPublishRequest(r)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if req.Data, err = readBody(r); err != nil {
		g.writeError(w, r, err)
		return
	}
	ctx, err := runtime.AnnotateContext(r.Context(), g.mux, r, heraldv1.PubSubService_Publish_FullMethodName,
		runtime.WithHTTPPathPattern(rawPublishPattern))
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	var md runtime.ServerMetadata
	resp, err := g.client.Publish(ctx, req, grpc.Header(&md.HeaderMD), grpc.Trailer(&md.TrailerMD))
	ctx = runtime.NewServerMetadataContext(ctx, md)
	if err != nil {
		runtime.HTTPError(ctx, g.mux, g.marshaler, w, r, err)
		return
	}
	runtime.ForwardResponseMessage(ctx, g.mux, g.marshaler, w, r, resp, g.mux.GetForwardResponseOptions()...)
}

// rawPublishRequest builds the request of a raw publish from its path,
// headers and query, all but the data.
func rawPublishRequest(r *http.Request) (*heraldv1.PublishRequest, error) {
	req := &heraldv1.PublishRequest{Topic: r.PathValue("topic")}
	switch ct := r.Header.Values("Content-Type"); len(ct) {
	case 0:
	case 1:
		req.ContentType = ct[0]
	default:
		return nil, status.Error(codes.InvalidArgument, "more than one Content-Type header")
	}
	query, err := singleValues(r, paramEvent, paramIdempotencyKey)
	if err != nil {
		return nil, err
	}
	req.Event = query[paramEvent]
	req.IdempotencyKey = query[paramIdempotencyKey]
	switch key := r.Header.Values("Idempotency-Key"); {
	case len(key) > 1:
		return nil, status.Error(codes.InvalidArgument, "more than one Idempotency-Key header")
	case len(key) == 0:
	case req.IdempotencyKey == "":
		req.IdempotencyKey = key[0]
	case req.IdempotencyKey != key[0]:
		return nil, status.Error(codes.InvalidArgument,
			"the Idempotency-Key header and the idempotency_key query parameter differ")
	}
	for _, f := range []struct{ what, v string }{
		{"topic", req.Topic},
		{"Content-Type", req.ContentType},
		{"event", req.Event},
		{"idempotency key", req.IdempotencyKey},
	} {
		if err := validUTF8(f.what, f.v); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// singleValues returns the query parameters of r, which may only be the
// allowed ones, each given at most once. An unknown parameter is refused
// rather than ignored: a misspelt idempotency_key must not silently make a
// retry publish twice.
func singleValues(r *http.Request, allowed ...string) (map[string]string, error) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "malformed query: %v", err)
	}
	out := make(map[string]string, len(query))
	for name, values := range query {
		if !slices.Contains(allowed, name) {
			return nil, status.Errorf(codes.InvalidArgument,
				"unknown query parameter %q; allowed: %s", name, strings.Join(allowed, ", "))
		}
		if len(values) > 1 {
			return nil, status.Errorf(codes.InvalidArgument, "query parameter %q given more than once", name)
		}
		out[name] = values[0]
	}
	return out, nil
}

// maxBodyReserve is the most memory reserved for a raw publish body
// before it arrives: a body announced larger grows the buffer as its bytes
// come in, so that announcing a large body costs no more than sending it.
const maxBodyReserve = 64 << 10

// readBody reads r's whole body, which boundBody bounds in size and time.
func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		// MinRead more, so that reading up to EOF needs no growing.
		buf.Grow(int(min(r.ContentLength, maxBodyReserve)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(r.Body)
	if err == nil {
		return buf.Bytes(), nil
	}
	if b, ok := r.Body.(*boundedBody); ok {
		if refused := b.refusal(); refused != nil {
			return nil, refused
		}
	}
	if r.Context().Err() != nil {
		return nil, status.FromContextError(r.Context().Err()).Err()
	}
	return nil, status.Errorf(codes.InvalidArgument, "reading the request body: %v", err)
}

// boundBody bounds the body of every request to next: at most limit
// bytes, a request announcing more being refused at once, and read within
// the body read timeout from now. The time bound is on reading the body
// only: once the body has been read, net/http lifts it (HTTP/1.1) or it no
// longer applies (HTTP/2 bounds the request's stream body), so it never
// cuts short the call to the service that follows. handleError and
// readBody turn the error a handler meets at a bound into 413 or 408.
func (g *gateway) boundBody(next http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			g.refuseUnread(w, r, errTooLarge(limit))
			return
		}
		err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(g.bodyTimeout))
		if err != nil && g.logger.Enabled(r.Context(), slog.LevelDebug) {
			// Only a ResponseWriter that is not net/http's lacks deadlines.
			g.logger.DebugContext(r.Context(), "cannot bound the time to read a request body", "err", err)
		}
		r2 := *r
		r2.Body = &boundedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), limit: limit, timeout: g.bodyTimeout}
		next.ServeHTTP(w, &r2)
	})
}

// boundedBody is a request body bounded by http.MaxBytesReader and read
// under a deadline. It remembers which bound a read hit. It is read by one
// goroutine.
type boundedBody struct {
	io.ReadCloser
	limit    int64
	timeout  time.Duration
	exceeded bool // over the size limit
	timedOut bool // past the deadline
}

// Read reads from the bounded body.
func (b *boundedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
	case errors.As(err, &tooLarge):
		b.exceeded = true
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.timedOut = true
	}
	return n, err
}

// refusal returns the refusal of a body that hit a bound: 413 over the
// size limit, 408 past the deadline; nil when it hit none.
func (b *boundedBody) refusal() error {
	switch {
	case b.exceeded:
		return errTooLarge(b.limit)
	case b.timedOut:
		return errBodyTimeout(b.timeout)
	}
	return nil
}
