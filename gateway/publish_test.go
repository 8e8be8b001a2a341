package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/heraldhq/herald/gateway"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/topic"
)

// chunked hides a body's length, so that the client sends it chunked
// without a Content-Length.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

// wantPublishResponse checks the JSON of the default PublishResponse:
// proto field names, every field present.
func wantPublishResponse(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	got := decodeObject(t, body)
	want := map[string]any{"id": "0000000000000042", "publish_time": "2025-01-02T03:04:05Z", "duplicate": false}
	if len(got) != len(want) {
		t.Errorf("response %s, want exactly the fields %v", body, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("response field %q = %v, want %v (body %s)", k, got[k], v, body)
		}
	}
}

// onlyPublish returns the single Publish call the service received.
func onlyPublish(t *testing.T, svc *fakeService) (*heraldv1.PublishRequest, metadata.MD) {
	t.Helper()
	calls := svc.received()
	if len(calls) != 1 {
		t.Fatalf("service received %d calls, want 1", len(calls))
	}
	req, ok := calls[0].req.(*heraldv1.PublishRequest)
	if !ok {
		t.Fatalf("service received %T, want a PublishRequest", calls[0].req)
	}
	return req, calls[0].md
}

func TestPublishJSON(t *testing.T) {
	t.Parallel()
	svc := &fakeService{publish: func(ctx context.Context, _ *heraldv1.PublishRequest) (*heraldv1.PublishResponse, error) {
		if err := grpc.SetHeader(ctx, metadata.Pairs("x-request-id", "r1")); err != nil {
			return nil, err
		}
		return &heraldv1.PublishResponse{Id: "0000000000000042", PublishTime: timestamppb.New(publishTime)}, nil
	}}
	f := newFixture(t, svc, gateway.Config{})
	body := `{"topic":"news","data":"aGVsbG8=","content_type":"text/plain","event":"greet","idempotencyKey":"k1"}`
	resp, got := f.do(t, f.request(t, http.MethodPost, "/v1/publish", strings.NewReader(body), map[string]string{
		"Content-Type":                       "application/json",
		"Authorization":                      "Bearer t0ken",
		"Grpc-Metadata-X-Herald-Transport":   "grpc", // must not pass for another transport
		"Grpc-Metadata-X-Herald-Subscriber":  "me",
		"Grpc-Metadata-X-Herald-Client-Addr": "203.0.113.7:1", // must not pass for another client
	}))
	wantPublishResponse(t, resp, got)
	if h := resp.Header.Get("Grpc-Metadata-X-Request-Id"); h != "r1" {
		t.Errorf("Grpc-Metadata-X-Request-Id = %q, want the service's header metadata r1", h)
	}
	if h := resp.Header.Values("Grpc-Metadata-Content-Type"); len(h) != 0 {
		t.Errorf("Grpc-Metadata-Content-Type = %q, want it absent", h)
	}

	req, md := onlyPublish(t, svc)
	want := &heraldv1.PublishRequest{Topic: "news", Data: []byte("hello"), ContentType: "text/plain", Event: "greet", IdempotencyKey: "k1"}
	if !proto.Equal(req, want) {
		t.Errorf("service received %v, want %v", req, want)
	}
	wantTransportMetadata(t, md)
	if got := md.Get("x-herald-subscriber"); len(got) != 0 {
		t.Errorf("x-herald-subscriber metadata = %q, want none (reserved namespace)", got)
	}
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer t0ken" {
		t.Errorf("authorization metadata = %q, want the Authorization header", got)
	}
}

func TestPublishJSONRefusesBadBodies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{MaxMessageSize: 16})
	// The JSON limit is the base64 size of 16 bytes plus 64 KiB.
	huge := `{"topic":"news","data":"` + strings.Repeat("A", 70<<10) + `"}`
	tests := []struct {
		name   string
		body   io.Reader
		status int
		code   codes.Code
		reason string
	}{
		{"unknown field", strings.NewReader(`{"topic":"news","idempotency-key":"k"}`), 400, codes.InvalidArgument, "invalid_argument"},
		{"not JSON", strings.NewReader(`topic=news`), 400, codes.InvalidArgument, "invalid_argument"},
		{"bad base64", strings.NewReader(`{"topic":"news","data":"%%%"}`), 400, codes.InvalidArgument, "invalid_argument"},
		{"too large, announced", strings.NewReader(huge), 413, codes.ResourceExhausted, "too_large"},
		{"too large, chunked", chunked{strings.NewReader(huge)}, 413, codes.ResourceExhausted, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.refused(t, tt.reason)
			resp, body := f.do(t, f.request(t, http.MethodPost, "/v1/publish", tt.body, map[string]string{"Content-Type": "application/json"}))
			wantError(t, resp, body, tt.status, int(tt.code))
			if got := f.refused(t, tt.reason); got != before+1 {
				t.Errorf("refused{reason=%q} went from %v to %v, want +1", tt.reason, before, got)
			}
		})
	}
	if calls := f.svc.received(); len(calls) != 0 {
		t.Errorf("service received %d calls, want none", len(calls))
	}
}

func TestPublishRawKeepsBodyAndContentType(t *testing.T) {
	t.Parallel()
	svc := &fakeService{}
	f := newFixture(t, svc, gateway.Config{})
	payload := []byte("{\"hello\":\"world\"}\r\n\x00\xff\xfe trailing ")
	resp, body := f.do(t, f.request(t, http.MethodPost, "/v1/topics/news.eu:1@x?event=greet&idempotency_key=k1",
		bytes.NewReader(payload), map[string]string{"Content-Type": "application/json; charset=utf-8"}))
	wantPublishResponse(t, resp, body)

	req, md := onlyPublish(t, svc)
	want := &heraldv1.PublishRequest{Topic: "news.eu:1@x", Data: payload, ContentType: "application/json; charset=utf-8", Event: "greet", IdempotencyKey: "k1"}
	if !proto.Equal(req, want) {
		t.Errorf("service received %v, want %v", req, want)
	}
	wantTransportMetadata(t, md)
}

func TestPublishRawFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		path   string
		header map[string]string
		want   *heraldv1.PublishRequest
	}{
		{
			name: "no content type, form-encoded curl default kept",
			path: "/v1/topics/news",
			want: &heraldv1.PublishRequest{Topic: "news", Data: []byte("x")},
		},
		{
			name:   "curl -d content type kept as sent",
			path:   "/v1/topics/news",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			want:   &heraldv1.PublishRequest{Topic: "news", Data: []byte("x"), ContentType: "application/x-www-form-urlencoded"},
		},
		{
			name:   "Idempotency-Key header",
			path:   "/v1/topics/news",
			header: map[string]string{"Idempotency-Key": "h1"},
			want:   &heraldv1.PublishRequest{Topic: "news", Data: []byte("x"), IdempotencyKey: "h1"},
		},
		{
			name:   "header agreeing with the query",
			path:   "/v1/topics/news?idempotency_key=h1",
			header: map[string]string{"Idempotency-Key": "h1"},
			want:   &heraldv1.PublishRequest{Topic: "news", Data: []byte("x"), IdempotencyKey: "h1"},
		},
		{
			name: "escaped query values",
			path: "/v1/topics/news?event=a.b%3Ac&idempotency_key=k%20%2F1",
			want: &heraldv1.PublishRequest{Topic: "news", Data: []byte("x"), Event: "a.b:c", IdempotencyKey: "k /1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := &fakeService{}
			f := newFixture(t, svc, gateway.Config{})
			resp, body := f.do(t, f.request(t, http.MethodPost, tt.path, strings.NewReader("x"), tt.header))
			wantPublishResponse(t, resp, body)
			if req, _ := onlyPublish(t, svc); !proto.Equal(req, tt.want) {
				t.Errorf("service received %v, want %v", req, tt.want)
			}
		})
	}
}

func TestPublishRawRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{MaxMessageSize: 8})
	tests := []struct {
		name   string
		path   string
		body   io.Reader
		header map[string]string
		status int
		code   codes.Code
		reason string
	}{
		{"unknown parameter", "/v1/topics/news?idempotency-key=k", strings.NewReader("x"), nil, 400, codes.InvalidArgument, "invalid_argument"},
		{"repeated parameter", "/v1/topics/news?event=a&event=b", strings.NewReader("x"), nil, 400, codes.InvalidArgument, "invalid_argument"},
		{"malformed query", "/v1/topics/news?event=%zz", strings.NewReader("x"), nil, 400, codes.InvalidArgument, "invalid_argument"},
		{"topic not UTF-8", "/v1/topics/news%ff", strings.NewReader("x"), nil, 400, codes.InvalidArgument, "invalid_argument"},
		{"event not UTF-8", "/v1/topics/news?event=%c3%28", strings.NewReader("x"), nil, 400, codes.InvalidArgument, "invalid_argument"},
		{"content type not UTF-8", "/v1/topics/news", strings.NewReader("x"), map[string]string{"Content-Type": "text/plain; x=\xff"}, 400, codes.InvalidArgument, "invalid_argument"},
		{"keys differ", "/v1/topics/news?idempotency_key=a", strings.NewReader("x"), map[string]string{"Idempotency-Key": "b"}, 400, codes.InvalidArgument, "invalid_argument"},
		{"too large, announced", "/v1/topics/news", strings.NewReader("123456789"), nil, 413, codes.ResourceExhausted, "too_large"},
		{"too large, chunked", "/v1/topics/news", chunked{strings.NewReader("123456789")}, nil, 413, codes.ResourceExhausted, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.refused(t, tt.reason)
			resp, body := f.do(t, f.request(t, http.MethodPost, tt.path, tt.body, tt.header))
			wantError(t, resp, body, tt.status, int(tt.code))
			if got := f.refused(t, tt.reason); got != before+1 {
				t.Errorf("refused{reason=%q} went from %v to %v, want +1", tt.reason, before, got)
			}
		})
	}
	if calls := f.svc.received(); len(calls) != 0 {
		t.Errorf("service received %d calls, want none", len(calls))
	}

	// Exactly the limit is fine.
	resp, body := f.do(t, f.request(t, http.MethodPost, "/v1/topics/news", chunked{strings.NewReader("12345678")}, nil))
	wantPublishResponse(t, resp, body)
}

func TestPublishRawMethodNotAllowed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{})
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		resp, body := f.do(t, f.request(t, method, "/v1/topics/news", nil, nil))
		wantError(t, resp, body, http.StatusMethodNotAllowed, int(codes.Unimplemented))
		if allow := resp.Header.Get("Allow"); allow != "POST" {
			t.Errorf("%s: Allow = %q, want POST", method, allow)
		}
	}
	if got := f.refused(t, "method_not_allowed"); got != 3 {
		t.Errorf("refused{reason=method_not_allowed} = %v, want 3", got)
	}
}

// TestServiceErrorsMapped checks that the service's errors reach HTTP
// clients with the mapped status and the gRPC code, on both publish routes,
// and that the gateway leaves counting them to the service.
func TestServiceErrorsMapped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   codes.Code
		status int
	}{
		{codes.InvalidArgument, 400},
		{codes.Unauthenticated, 401},
		{codes.PermissionDenied, 403},
		{codes.NotFound, 404},
		{codes.AlreadyExists, 409},
		{codes.ResourceExhausted, 429},
		{codes.FailedPrecondition, 400},
		{codes.Internal, 500},
		{codes.Unimplemented, 501},
		{codes.Unavailable, 503},
		{codes.DeadlineExceeded, 504},
	}
	var current atomic.Uint32
	svc := &fakeService{publish: func(context.Context, *heraldv1.PublishRequest) (*heraldv1.PublishResponse, error) {
		return nil, status.Error(codes.Code(current.Load()), "refused by the service")
	}}
	f := newFixture(t, svc, gateway.Config{})
	for _, tt := range tests {
		current.Store(uint32(tt.code))
		for _, req := range []*http.Request{
			f.request(t, http.MethodPost, "/v1/publish", strings.NewReader(`{"topic":"news"}`), nil),
			f.request(t, http.MethodPost, "/v1/topics/news", strings.NewReader("x"), nil),
		} {
			resp, body := f.do(t, req)
			v := wantError(t, resp, body, tt.status, int(tt.code))
			if v["message"] != "refused by the service" {
				t.Errorf("%v on %s: message = %v, want the service's", tt.code, req.URL.Path, v["message"])
			}
		}
	}
	if got := len(svc.received()); got != 2*len(tests) {
		t.Errorf("service received %d calls, want %d", got, 2*len(tests))
	}
	for _, reason := range []string{"invalid_argument", "resource_exhausted", "unavailable", "not_found"} {
		if got := f.refused(t, reason); got != 0 {
			t.Errorf("gateway counted refused{reason=%q} = %v for the service's refusals, want 0", reason, got)
		}
	}
}

// TestPublishRawTopicValidatedByService checks that a bad topic is refused
// with the service's own text.
func TestPublishRawTopicValidatedByService(t *testing.T) {
	t.Parallel()
	svc := &fakeService{publish: func(_ context.Context, req *heraldv1.PublishRequest) (*heraldv1.PublishResponse, error) {
		if err := topic.Validate(req.GetTopic()); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return &heraldv1.PublishResponse{Id: "1"}, nil
	}}
	f := newFixture(t, svc, gateway.Config{})
	resp, body := f.do(t, f.request(t, http.MethodPost, "/v1/topics/news..eu", strings.NewReader("x"), nil))
	v := wantError(t, resp, body, http.StatusBadRequest, int(codes.InvalidArgument))
	if want := topic.Validate("news..eu").Error(); v["message"] != want {
		t.Errorf("message = %v, want %q", v["message"], want)
	}
}

// TestPublishJSONDataRoundTrip checks that the base64 in the JSON body is the
// data the service receives.
func TestPublishJSONDataRoundTrip(t *testing.T) {
	t.Parallel()
	svc := &fakeService{}
	f := newFixture(t, svc, gateway.Config{})
	data := []byte{0, 1, 2, 0xfe, 0xff, '\n'}
	body := `{"topic":"t","data":"` + base64.StdEncoding.EncodeToString(data) + `"}`
	resp, got := f.do(t, f.request(t, http.MethodPost, "/v1/publish", strings.NewReader(body), nil))
	wantPublishResponse(t, resp, got)
	if req, _ := onlyPublish(t, svc); !bytes.Equal(req.GetData(), data) {
		t.Errorf("data = %x, want %x", req.GetData(), data)
	}
}

// TestServiceErrorTextNotUTF8 checks that an error message that protojson
// cannot encode still reaches the client as the service's refusal.
func TestServiceErrorTextNotUTF8(t *testing.T) {
	t.Parallel()
	svc := &fakeService{publish: func(context.Context, *heraldv1.PublishRequest) (*heraldv1.PublishResponse, error) {
		return nil, status.Error(codes.InvalidArgument, "bad \xff byte")
	}}
	f := newFixture(t, svc, gateway.Config{})
	resp, body := f.do(t, f.request(t, http.MethodPost, "/v1/topics/news", strings.NewReader("x"), nil))
	if v := wantError(t, resp, body, http.StatusBadRequest, int(codes.InvalidArgument)); v["message"] != "bad \uFFFD byte" {
		t.Errorf("message = %q, want the bad byte replaced", v["message"])
	}
}
