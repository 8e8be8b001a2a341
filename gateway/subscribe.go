package gateway

import (
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// subscribeQuery prepares the query of GET /v1/subscribe for grpc-gateway.
// It refuses a query that is malformed or not UTF-8 (protobuf strings must
// be, and the service would otherwise see an internal error instead of the
// client's mistake), and lets the Last-Event-ID request header, which
// EventSource-style clients send when they reconnect, stand for the
// last_event_id query parameter. A query parameter, in either spelling,
// wins over the header.
func (g *gateway) subscribeQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			g.writeError(w, r, status.Errorf(codes.InvalidArgument, "malformed query: %v", err))
			return
		}
		if id := r.Header.Get("Last-Event-ID"); id != "" && !q.Has("last_event_id") && !q.Has("lastEventId") {
			q.Set("last_event_id", id)
			r = r.Clone(r.Context())
			r.URL.RawQuery = q.Encode()
		}
		for name, values := range q {
			if err := validUTF8("query parameter name", name); err != nil {
				g.writeError(w, r, err)
				return
			}
			for _, v := range values {
				if err := validUTF8("query parameter "+strconv.Quote(name), v); err != nil {
					g.writeError(w, r, err)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// validUTF8 refuses a value that is not valid UTF-8, as every protobuf
// string must be.
func validUTF8(what, v string) error {
	if utf8.ValidString(v) {
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "%s is not valid UTF-8", what)
}

// streamWriter gives the handler a ResponseWriter on which the status line
// can be written only once. flushStreamHeaders sends 200 before the first
// frame; when the stream then fails before that frame, grpc-gateway would
// write the error's status too, which net/http refuses with a log line. The
// error line itself still goes out.
func streamWriter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&onceHeaderWriter{ResponseWriter: w}, r)
	})
}

// onceHeaderWriter drops WriteHeader calls after the header was sent. It is
// used by one request's goroutine only.
type onceHeaderWriter struct {
	http.ResponseWriter
	wroteHeader bool
}

// WriteHeader sends the status line unless it was already sent.
func (o *onceHeaderWriter) WriteHeader(code int) {
	if o.wroteHeader {
		return
	}
	if code >= http.StatusOK { // 1xx informational headers may precede the status
		o.wroteHeader = true
	}
	o.ResponseWriter.WriteHeader(code)
}

// Write writes body bytes, sending the status line first if needed.
func (o *onceHeaderWriter) Write(p []byte) (int, error) {
	o.wroteHeader = true
	return o.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the underlying writer, for Flush.
func (o *onceHeaderWriter) Unwrap() http.ResponseWriter { return o.ResponseWriter }
