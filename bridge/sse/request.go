package sse

import (
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// parse reads the query parameters (docs/browser-protocol.md): topic
// (repeated), last_event_id (the Last-Event-ID header wins), heartbeat and
// envelope. Topics and id are validated by the source; the rest here.
func (h *Handler) parse(r *http.Request) (params, error) {
	q := r.URL.Query()
	p := params{
		topics:      q["topic"],
		lastEventID: r.Header.Get("Last-Event-ID"),
		heartbeat:   h.cfg.HeartbeatInterval,
	}
	if p.lastEventID == "" {
		p.lastEventID = q.Get("last_event_id")
	}
	p.resumes = p.lastEventID != ""
	if v := q.Get("heartbeat"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return params{}, status.Errorf(codes.InvalidArgument,
				"heartbeat %q is not a duration (use Go syntax such as 30s, between %v and %v)",
				clip(v), h.cfg.MinHeartbeat, h.cfg.MaxHeartbeat)
		}
		p.heartbeat = min(max(d, h.cfg.MinHeartbeat), h.cfg.MaxHeartbeat)
	}
	switch v := q.Get("envelope"); v {
	case "", "0", "false":
	case "1", "true":
		p.envelope = true
	default:
		return params{}, status.Errorf(codes.InvalidArgument, "envelope %q: use 1 or true (or 0, false)", clip(v))
	}
	return p, nil
}
