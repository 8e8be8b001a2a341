package gateway

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

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
	if req.Data, err = readBody(w, r, g.maxMessageSize); err != nil {
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

// readBody reads r's whole body, refusing one over limit bytes without
// reading more than limit+1 of it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge(limit)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return buf.Bytes(), nil
	case errors.As(err, &tooLarge):
		return nil, errTooLarge(limit)
	case r.Context().Err() != nil:
		return nil, status.FromContextError(r.Context().Err()).Err()
	default:
		return nil, status.Errorf(codes.InvalidArgument, "reading the request body: %v", err)
	}
}

// limitBody bounds the body of every request to next at limit bytes; a
// request announcing a larger body is refused at once. handleError turns
// the error a handler meets at the limit into 413.
func (g *gateway) limitBody(next http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			g.writeError(w, r, errTooLarge(limit))
			return
		}
		r2 := *r
		r2.Body = &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), limit: limit}
		next.ServeHTTP(w, &r2)
	})
}

// limitedBody is a request body bounded by http.MaxBytesReader that
// remembers whether the bound was hit. It is read by one goroutine.
type limitedBody struct {
	io.ReadCloser
	limit    int64
	exceeded bool
}

// Read reads from the bounded body.
func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.exceeded = true
	}
	return n, err
}
