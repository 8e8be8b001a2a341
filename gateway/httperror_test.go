package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/internal/refusal"
)

func TestWriteError(t *testing.T) {
	for _, tt := range []struct {
		name   string
		err    error
		status int
		code   codes.Code
		msg    string
	}{
		{"invalid", status.Error(codes.InvalidArgument, `topics[0]: bad "x"`), http.StatusBadRequest, codes.InvalidArgument, `topics[0]: bad "x"`},
		{"unavailable", status.Error(codes.Unavailable, "shutting down"), http.StatusServiceUnavailable, codes.Unavailable, "shutting down"},
		{"explicit status", &runtime.HTTPStatusError{HTTPStatus: http.StatusForbidden, Err: status.Error(codes.PermissionDenied, "origin")}, http.StatusForbidden, codes.PermissionDenied, "origin"},
		{"not a status", errors.New("disk /var/secret"), http.StatusInternalServerError, codes.Internal, "internal error"},
		{"not UTF-8", status.Error(codes.InvalidArgument, "bad \xff"), http.StatusBadRequest, codes.InvalidArgument, "InvalidArgument"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.err)
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			var body struct {
				Code    codes.Code        `json:"code"`
				Message string            `json:"message"`
				Details []json.RawMessage `json:"details"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body.Code != tt.code || body.Message != tt.msg || body.Details == nil {
				t.Fatalf("body %s, want code %d message %q and details []", rec.Body, tt.code, tt.msg)
			}
		})
	}
}

// Refusals handed to WriteError as they are get their HTTP headers.
func TestWriteErrorRefusalHeaders(t *testing.T) {
	limited := refusal.New(codes.ResourceExhausted, refusal.RateLimited, "slow down")
	limited.RetryAfter = 1500 * time.Millisecond
	for _, tt := range []struct {
		name             string
		err              error
		status           int
		challenge, retry string
	}{
		{"no credential", refusal.New(codes.Unauthenticated, refusal.Unauthenticated, "log in"), 401, "Bearer", ""},
		{"invalid token", refusal.New(codes.Unauthenticated, refusal.InvalidToken, "bad"), 401, `Bearer error="invalid_token"`, ""},
		{"expired token", auth.ExpiredError(), 401, `Bearer error="invalid_token"`, ""},
		{"denied", refusal.New(codes.PermissionDenied, refusal.PermissionDenied, "no"), 403, "", ""},
		{"rate limited", limited, 429, "", "2"},
		{"too many connections", refusal.New(codes.ResourceExhausted, refusal.TooManyConnections, "full"), 429, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.err)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retry {
				t.Errorf("Retry-After = %q, want %q", got, tt.retry)
			}
		})
	}
}
