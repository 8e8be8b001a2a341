package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
