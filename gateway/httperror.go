package gateway

import (
	"errors"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// WriteError answers a request with err in the error shape of every Herald
// HTTP route, {"code":<gRPC code>,"message":"…","details":[]}, and the HTTP
// status the gateway maps the code to (400 invalid argument, 401
// unauthenticated, 403 permission denied, 429 resource exhausted, 503
// unavailable, …), or the explicit status of a *runtime.HTTPStatusError
// (403 for a refused origin, 405 for a method). A refusal (a
// *refusal.Error, or a status from the service) gets its headers as on the
// gateway's own routes: WWW-Authenticate on 401, Retry-After on 429 with a
// retry delay. An err that is no gRPC status is answered 500 INTERNAL with
// a generic message: log it before. It is for handlers mounted beside the
// gateway, such as the browser transports, before their response has
// started.
func WriteError(w http.ResponseWriter, err error) {
	refusalHeaders(w.Header(), err)
	httpStatus := 0
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		httpStatus, err = hse.HTTPStatus, hse.Err
	}
	st, ok := status.FromError(err)
	if !ok {
		st = status.Convert(errInternal)
	}
	if httpStatus == 0 {
		httpStatus = runtime.HTTPStatusFromCode(st.Code())
	}
	m := newMarshaler()
	body, merr := m.Marshal(st.Proto())
	if merr != nil {
		// A status message that is not UTF-8; the code still says it all.
		body, _ = m.Marshal(status.New(st.Code(), codes.Code(st.Code()).String()).Proto())
	}
	h := w.Header()
	h.Set("Content-Type", m.ContentType(nil))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}
