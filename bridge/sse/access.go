package sse

import (
	"net/http"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/bridge"
)

// A stream is admitted in this order, each step refusing with the JSON
// error body before anything is streamed: the credential (header, cookie
// or access_token query parameter) must verify, 401; the topics must be
// valid, 400, and within the identity's subscribe claims, 403 (401 for an
// anonymous client); there must be no more of them than the topic limit,
// the subscribe rate of the client's HTTP/2 connection must admit one more
// request, and the client's address must have a connection to spare, all
// 429. The connection slot is held until the stream ends; the credential's
// expiry ends the stream with a token_expired herald.error event.

// admit checks that id may read the topics of p and that the limits admit
// the stream. It returns the connection slot's release, to call once when
// the stream ends.
func (h *Handler) admit(r *http.Request, id *auth.Identity, p params) (release func(), err error) {
	patterns, err := bridge.ParsePatterns(p.topics, p.lastEventID)
	if err != nil {
		return nil, err
	}
	if err := h.access.Authorize(id, patterns); err != nil {
		return nil, err
	}
	// Connections that Herald does not hold itself are known by their
	// address and port: over HTTP/2 the streams of one connection share
	// the subscribe rate. An HTTP/1.x connection carries one stream for
	// its life (the stream takes it over), so it has no rate to keep, and
	// keeping none spares every idle stream the limiter's bookkeeping.
	if r.ProtoMajor >= 2 {
		if err := h.access.Limits().Subscribe(r.RemoteAddr); err != nil {
			return nil, err
		}
	}
	return h.access.Connect(r)
}
