package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/internal/refusal"
)

// ErrInvalidConfig is wrapped by the errors New returns for arguments it
// cannot work with.
var ErrInvalidConfig = errors.New("gateway: invalid config")

// errShuttingDown answers API calls, and ends subscribe streams, once the
// gateway's context is done.
var errShuttingDown = status.Error(codes.Unavailable, "server is shutting down")

// errInternal replaces errors whose text is not meant for clients.
var errInternal = status.Error(codes.Internal, "internal error")

// errTooLarge refuses a request body over limit bytes: 413 with code
// RESOURCE_EXHAUSTED, the code the service gives an oversized message.
func errTooLarge(limit int64) error {
	return &runtime.HTTPStatusError{
		HTTPStatus: http.StatusRequestEntityTooLarge,
		Err:        status.Errorf(codes.ResourceExhausted, "request body is larger than the limit of %d bytes", limit),
	}
}

// errBodyTimeout refuses a request whose body did not arrive within
// timeout: 408 with code DEADLINE_EXCEEDED.
func errBodyTimeout(timeout time.Duration) error {
	return &runtime.HTTPStatusError{
		HTTPStatus: http.StatusRequestTimeout,
		Err:        status.Errorf(codes.DeadlineExceeded, "the request body did not arrive within %v", timeout),
	}
}

// writeError answers r with err exactly as the grpc-gateway routes answer
// errors: through the mux's error handler, handleError.
func (g *gateway) writeError(w http.ResponseWriter, r *http.Request, err error) {
	runtime.HTTPError(r.Context(), g.mux, g.marshaler, w, r, err)
}

// handleError is the error handler of every response of the gateway, its
// own routes and grpc-gateway's alike, so that all errors share one shape
// ({"code","message","details"}) and one status table
// (runtime.HTTPStatusFromCode, or the explicit status of a
// *runtime.HTTPStatusError). It counts refusals the gateway makes itself.
func (g *gateway) handleError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if b, ok := r.Body.(*boundedBody); ok {
		// grpc-gateway reports a body cut off by a bound as bad JSON.
		if refused := b.refusal(); refused != nil {
			err = refused
		}
	}
	err = g.sanitize(ctx, err)
	byService := reachedService(ctx)
	if !byService {
		if reason, ok := refusalReason(err); ok {
			g.transport.Refuse(reason)
		}
	}
	if g.logger.Enabled(ctx, slog.LevelDebug) {
		g.logger.DebugContext(ctx, "request failed",
			"method", r.Method, "path", r.URL.Path,
			"code", codeOf(err).String(), "by_service", byService, "err", err)
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, &refusalWriter{ResponseWriter: w, err: err}, r, err)
}

// refusalWriter is the ResponseWriter of an error answer: it sets the
// refusal's headers (refusalHeaders) as the status line goes out, over the
// WWW-Authenticate header that grpc-gateway sets to the status message,
// which is no RFC 6750 challenge.
type refusalWriter struct {
	http.ResponseWriter
	err error
}

// WriteHeader sets the refusal's headers and sends the status line.
func (w *refusalWriter) WriteHeader(code int) {
	refusalHeaders(w.Header(), w.err)
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// streamError turns the error that ends a subscribe stream into the status
// of its last line. A stream the service refuses before accepting it gets
// that status's HTTP status next, so the refusal's headers are set here; on
// a stream that has begun they no longer change the response.
func (g *gateway) streamError(ctx context.Context, err error) *status.Status {
	err = g.sanitize(ctx, err)
	if c, ok := ctx.Value(callKey{}).(*apiCall); ok && c.header != nil {
		refusalHeaders(c.header, err)
	}
	return status.Convert(err)
}

// sanitize returns err as a gRPC status error fit for a client: the calls
// cancelled by shutdown become UNAVAILABLE, context errors their codes, and
// any other error that is not a status INTERNAL without its text, which is
// logged instead; a message that is not UTF-8 gets its bad bytes replaced.
func (g *gateway) sanitize(ctx context.Context, err error) error {
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		return err // made by the gateway, already fit
	}
	st, ok := status.FromError(err)
	if !ok {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			g.logger.ErrorContext(ctx, "gateway error", "err", err)
			return errInternal
		}
		st = status.FromContextError(err)
	}
	if st.Code() == codes.Canceled && g.ctx.Err() != nil {
		return errShuttingDown
	}
	if !utf8.ValidString(st.Message()) {
		// protojson cannot encode it: the client would get a bare 500.
		p := st.Proto()
		p.Message = strings.ToValidUTF8(p.Message, "\uFFFD")
		st = status.FromProto(p)
	}
	return st.Err()
}

// codeOf returns the gRPC code of an error as sanitize leaves it.
func codeOf(err error) codes.Code {
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		err = hse.Err
	}
	return status.Code(err)
}

// refusalReason names a refusal for the refused-requests counter: by the
// reason its status carries (a refusal of the credential or the limits
// made by the gateway itself), by the bound a body hit or the method, or
// by its code. It reports false when err is no refusal: the client went
// away, or the server failed.
func refusalReason(err error) (string, bool) {
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		switch hse.HTTPStatus {
		case http.StatusRequestEntityTooLarge:
			return "too_large", true
		case http.StatusMethodNotAllowed:
			return "method_not_allowed", true
		case http.StatusRequestTimeout:
			return "body_timeout", true
		}
	}
	if reason := refusal.FromStatus(status.Convert(err)); reason != "" {
		return reason, true
	}
	switch code := codeOf(err); code {
	case codes.OK, codes.Canceled, codes.Unknown, codes.Internal, codes.DataLoss:
		return "", false
	default:
		return CodeName(code), true
	}
}

// CodeName is the snake_case name of a gRPC code, such as
// "invalid_argument" for codes.InvalidArgument: the refusal reason the
// metrics count a code's refusals under, and the code of the browser
// transports' error frames.
func CodeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
