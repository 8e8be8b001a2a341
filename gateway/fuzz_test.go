package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/gateway"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/topic"
)

// FuzzPublishRaw feeds raw publishing arbitrary topics, queries, content
// types and bodies. Whatever comes in, the answer is a success whose
// message is exactly what was sent, a redirect to a cleaned path, or a
// client error with the JSON error shape; never a server error.
func FuzzPublishRaw(f *testing.F) {
	f.Add("news", "event=greet&idempotency_key=k1", "application/json", []byte(`{"hello":"world"}`))
	f.Add("news", "", "", []byte{})
	f.Add("a..b", "x=1", "text/plain", []byte("hi"))
	f.Add("news\xff", "event=%c3%28", "text/plain; x=\xff", []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef!"))
	f.Add("../x", "event=a&event=b", "a\x00b", []byte("\x00"))

	var last atomic.Pointer[heraldv1.PublishRequest]
	svc := &fakeService{forget: true, publish: func(_ context.Context, req *heraldv1.PublishRequest) (*heraldv1.PublishResponse, error) {
		if err := topic.Validate(req.GetTopic()); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		last.Store(req)
		return &heraldv1.PublishResponse{Id: "1"}, nil
	}}
	fx := newFixture(f, svc, gateway.Config{MaxMessageSize: 64, Logger: slog.New(slog.DiscardHandler)})

	f.Fuzz(func(t *testing.T, topicName, query, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.URL.Path = "/v1/topics/" + topicName
		req.URL.RawQuery = query
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		last.Store(nil)
		rec := httptest.NewRecorder()
		fx.handler.ServeHTTP(rec, req)

		switch code := rec.Code; {
		case code == http.StatusOK:
			got := last.Load()
			if got == nil {
				t.Fatal("200 without a publish")
			}
			if !bytes.Equal(got.GetData(), body) || got.GetContentType() != contentType || got.GetTopic() != topicName {
				t.Fatalf("published %v, want topic %q, content type %q, data %q", got, topicName, contentType, body)
			}
		case code >= 300 && code < 400:
			// net/http's mux redirects to a cleaned path.
		case code == http.StatusBadRequest || code == http.StatusNotFound || code == http.StatusRequestEntityTooLarge:
			if last.Load() != nil {
				t.Fatalf("refused with %d, yet published %v", code, last.Load())
			}
			var e struct {
				Code    *int            `json:"code"`
				Message string          `json:"message"`
				Details json.RawMessage `json:"details"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == nil || e.Message == "" || string(e.Details) != "[]" {
				t.Fatalf("refusal %d body %q is not a JSON error (%v)", code, rec.Body.Bytes(), err)
			}
		default:
			t.Fatalf("status %d, body %q", code, rec.Body.Bytes())
		}
	})
}
