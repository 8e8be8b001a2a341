package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/server"
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

// route says what an API route does, for the checks admit makes.
type route int

const (
	publishRoute   route = iota // POST /v1/publish, POST /v1/topics/{topic}
	subscribeRoute              // GET /v1/subscribe
)

// errAnonymousPublish refuses a publish without a credential where
// anonymous clients may subscribe: they may never publish.
var errAnonymousPublish = refusal.New(codes.Unauthenticated, refusal.Unauthenticated,
	"anonymous clients may not publish: present a token or API key as \"Authorization: Bearer …\"")

// admit checks a request to an API route before anything else of it is
// read or checked: its credential, from the Authorization header (on the
// subscribe route, cookieCredential has put the herald_token cookie
// there), must verify, and on the publish routes it must be one, since
// anonymous clients never publish; with Config.Limits, the request must
// then be within them (see Config.Limits), the connection slot of a
// subscribe stream being held until next returns. A request refused here
// is answered without its body being read.
func (g *gateway) admit(kind route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, err := g.admission(kind, r)
		if err != nil {
			g.refuseUnread(w, r, err)
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}

// refuseUnread answers a request refused before its body was read. Over
// HTTP/1 the connection of a request with a body is closed after the
// answer, without reading more of it: net/http would otherwise read what
// is left of the body, at the client's pace, before answering or reusing
// the connection. (HTTP/2 resets the request's stream instead.)
func (g *gateway) refuseUnread(w http.ResponseWriter, r *http.Request, err error) {
	if r.ProtoMajor == 1 && r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
		if err := http.NewResponseController(w).SetReadDeadline(time.Now()); err != nil && g.logger.Enabled(r.Context(), slog.LevelDebug) {
			g.logger.DebugContext(r.Context(), "cannot stop reading a refused request", "err", err)
		}
	}
	g.writeError(w, r, err)
}

// admission makes the checks of admit and returns the release of the
// connection slot it took, if any.
func (g *gateway) admission(kind route, r *http.Request) (release func(), err error) {
	var credential string
	if !g.auth.Open() {
		if credential, err = auth.FromRequest(r, auth.Header); err != nil {
			return nil, err
		}
	}
	id, err := g.auth.Authenticate(credential)
	if err != nil {
		return nil, err
	}
	if kind == publishRoute && id.Kind == auth.Anonymous && !g.auth.Open() {
		return nil, errAnonymousPublish
	}
	switch {
	case g.limits == nil:
	case kind == publishRoute:
		if err := g.limits.Publish(server.PublishKey(id, r.RemoteAddr)); err != nil {
			return nil, err
		}
	default:
		if err := g.limits.Subscribe(r.RemoteAddr); err != nil {
			return nil, err
		}
		return g.limits.Connect(server.ClientHost(r.RemoteAddr))
	}
	return func() {}, nil
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
