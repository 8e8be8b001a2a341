package ws

import (
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/gateway"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/internal/subreq"
	"github.com/heraldhq/herald/topic"
)

// A connection acts for one identity at a time: the handshake's
// credential (Authorization header, herald_token cookie or access_token
// query parameter), replaced by the credential of each "auth" frame that
// verifies and still covers every topic the connection holds. Every
// subscribe frame is authorized against it, and the connection closes
// with CloseTokenExpired when it expires. Subscribe, unsubscribe and auth
// frames take from the connection's request rate; the topics the
// connection holds, over all its subscribe frames, are bounded by the
// topic limit; the connection holds a slot of its client address's
// connection limit until it ends.

// admit checks that id may read the handshake's topics (none: the
// connection subscribes later) and that the limits admit one more
// connection from the client's address. It returns the connection slot's
// release, to call once when the connection ends.
func (h *Handler) admit(r *http.Request, id *auth.Identity, topics []string, lastEventID string) (release func(), err error) {
	if len(topics) > 0 {
		patterns, err := bridge.ParsePatterns(topics, lastEventID)
		if err != nil {
			return nil, err
		}
		if err := h.access.Authorize(id, patterns); err != nil {
			return nil, err
		}
	} else if _, err := engine.ParseID(lastEventID); err != nil {
		return nil, status.Errorf(codes.InvalidArgument,
			"last_event_id %s is not a message id", subreq.QuoteID(lastEventID))
	}
	return h.access.Connect(r)
}

// watchExpiry ends the connection when its identity's credential expires.
// The writer owns stopExpiry.
func (c *conn) watchExpiry() {
	c.stopExpiry = c.id.AtExpiry(func() { c.end(discTokenExpired) })
}

// authenticate answers an "auth" frame: a credential that verifies and
// covers every topic the connection holds becomes the connection's
// identity, and its expiry the connection's; the client gets an
// "authenticated" frame. Otherwise the client gets an error frame and the
// connection keeps its identity. It returns false when the connection
// ends.
func (c *conn) authenticate(r *request) bool {
	if err := c.rate.Allow(); err != nil {
		return c.refused(err, r.id, false)
	}
	id, err := c.h.access.Verify(r.token)
	if err == nil {
		err = c.covers(id)
	}
	if err != nil {
		return c.refused(err, r.id, true)
	}
	if !c.stopExpiry() {
		// The old credential expired as this one came: too late.
		c.end(discTokenExpired)
		return false
	}
	c.id = id
	c.watchExpiry()
	c.batch().authenticated(id.Expires, r.id)
	return true
}

// covers checks that id may subscribe to every topic the connection
// holds.
func (c *conn) covers(id *auth.Identity) error {
	held := make([]topic.Pattern, 0, len(c.topics))
	for _, t := range c.topics {
		p, err := topic.ParsePattern(t)
		if err != nil {
			return status.Errorf(codes.Internal, "held topic %q: %v", t, err)
		}
		held = append(held, p)
	}
	return id.AuthorizeSubscribe(held)
}

// refused answers a client frame that access or a limit refused with an
// error frame carrying the refusal's code, reason and retry delay, and
// counts it. strike counts it as abuse, like a malformed frame: a client
// that keeps asking for what its credential does not allow is closed. It
// returns false when the connection ends.
func (c *conn) refused(err error, id []byte, strike bool) bool {
	st := status.Convert(err)
	code := gateway.CodeName(st.Code())
	reason := refusal.Reason(err)
	if reason == "" {
		reason = code
	}
	c.h.met.Refuse(reason)
	c.batch().refusalFrame(code, reason, st.Message(), refusal.RetryAfter(err), id)
	if strike {
		return c.strike(discRefused)
	}
	return true
}
