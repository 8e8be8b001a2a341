package ws

import (
	"encoding/json"
	"net/http"

	"google.golang.org/grpc/codes"
)

// errorBody is the JSON error body every Herald HTTP endpoint answers
// with, the shape of grpc-gateway's errors.
type errorBody struct {
	Code    int      `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details"`
}

// writeError answers with an HTTP error: status and the JSON error body
// with the gRPC code and message.
func writeError(w http.ResponseWriter, status int, code codes.Code, message string) {
	body, err := json.Marshal(errorBody{Code: int(code), Message: message, Details: []string{}})
	if err != nil {
		body = []byte(`{"code":13,"message":"internal error","details":[]}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// httpStatus maps the gRPC codes a handshake can be refused with to HTTP
// statuses, as grpc-gateway maps them everywhere else.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return 400
	case codes.Unauthenticated:
		return 401
	case codes.PermissionDenied:
		return 403
	case codes.NotFound:
		return 404
	case codes.ResourceExhausted:
		return 429
	case codes.Unimplemented:
		return 501
	case codes.Unavailable:
		return 503
	case codes.DeadlineExceeded:
		return 504
	}
	return 500
}

// codeForHTTP is the gRPC code of a handshake refused with an HTTP status
// by the WebSocket upgrader.
func codeForHTTP(status int) codes.Code {
	switch status {
	case 400:
		return codes.InvalidArgument
	case 403:
		return codes.PermissionDenied
	case 405:
		return codes.Unimplemented
	}
	return codes.Internal
}
