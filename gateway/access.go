package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/internal/refusal"
)

// cookieCredential lets a browser subscribe with the token of the
// herald_token cookie (auth.CookieName) when the request has no
// Authorization header: the token is passed on as that header, which
// grpc-gateway forwards as "authorization" metadata. It is for the
// subscribe route only. Browsers send cookies with cross-site requests
// too, so a cookie that authorized publishing would let any web page
// publish as its holder (cross-site request forgery); reading a stream
// gives such a page nothing, since the browser does not let it read the
// cross-origin response unless CORS allows it.
func cookieCredential(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("Authorization")) == 0 {
			// With only the cookie source, FromRequest cannot fail.
			if tok, _ := auth.FromRequest(r, auth.Cookie); tok != "" {
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer "+tok)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// refusalHeaders sets the headers that go with a refusal's HTTP status,
// before the status is written: on 401 (UNAUTHENTICATED) the Bearer
// challenge of RFC 6750, with error="invalid_token" when a credential was
// presented but is invalid or expired; on 429 (RESOURCE_EXHAUSTED) with a
// retry delay, Retry-After in whole seconds, rounded up.
func refusalHeaders(h http.Header, err error) {
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		err = hse.Err
	}
	st, ok := status.FromError(err)
	if !ok {
		return
	}
	switch st.Code() {
	case codes.Unauthenticated:
		challenge := "Bearer"
		switch refusalReasonOf(err, st) {
		case refusal.InvalidToken, refusal.TokenExpired:
			challenge = `Bearer error="invalid_token"`
		}
		h.Set("WWW-Authenticate", challenge)
	case codes.ResourceExhausted:
		if d := retryDelay(st); d > 0 {
			h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
		}
	}
}

// refusalReasonOf returns the reason of a refusal: that of a
// *refusal.Error (the browser transports hand those to WriteError as they
// are), or the one a status from the service carries; "" when neither
// says.
func refusalReasonOf(err error, st *status.Status) string {
	if r := refusal.Reason(err); r != "" {
		return r
	}
	return refusal.FromStatus(st)
}

// retryDelay returns the delay of a status's RetryInfo detail, or 0.
func retryDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.RetryInfo); ok {
			return info.GetRetryDelay().AsDuration()
		}
	}
	return 0
}
