package subreq

import (
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/topic"
)

// MaxTopics is the most topics and patterns one subscribe request may name.
const MaxTopics = 256

// Request is a validated subscribe request.
type Request struct {
	// Patterns are the requested topics and patterns, de-duplicated, in
	// the order the client gave them.
	Patterns []topic.Pattern
	// Names are the String forms of Patterns, in the same order: what the
	// subscribed confirmation lists.
	Names []string
	// After is the position to resume after; the zero ID for live only.
	After engine.ID
}

// Parse validates a subscribe request: one to MaxTopics valid topics or
// patterns (duplicates are dropped) and a well-formed last event id (empty
// for none). Its error is an InvalidArgument gRPC status error.
func Parse(topics []string, lastEventID string) (Request, error) {
	switch {
	case len(topics) == 0:
		return Request{}, status.Error(codes.InvalidArgument, "topics: at least one topic is required")
	case len(topics) > MaxTopics:
		return Request{}, status.Errorf(codes.InvalidArgument, "topics: %d given; the limit is %d", len(topics), MaxTopics)
	}
	req := Request{
		Patterns: make([]topic.Pattern, 0, len(topics)),
		Names:    make([]string, 0, len(topics)),
	}
	for i, t := range topics {
		p, err := topic.ParsePattern(t)
		if err != nil {
			return Request{}, status.Errorf(codes.InvalidArgument, "topics[%d]: %s", i, TopicMessage(err))
		}
		name := p.String()
		if contains(req.Names, name) {
			continue
		}
		req.Patterns = append(req.Patterns, p)
		req.Names = append(req.Names, name)
	}
	after, err := engine.ParseID(lastEventID)
	if err != nil {
		return Request{}, status.Errorf(codes.InvalidArgument, "last_event_id %s is not a message id", QuoteID(lastEventID))
	}
	req.After = after
	return req, nil
}

// FutureIDError is the InvalidArgument status error for a last event id
// that an engine refused with engine.ErrFutureID.
func FutureIDError(lastEventID string) error {
	return status.Errorf(codes.InvalidArgument,
		"last_event_id %s is ahead of the stream: no message with that id has been published",
		QuoteID(lastEventID))
}

// TopicMessage is the text of a topic package error without its
// "topic: invalid: " prefix, which says nothing to a client.
func TopicMessage(err error) string {
	return strings.TrimPrefix(err.Error(), topic.ErrInvalid.Error()+": ")
}

// QuoteID quotes a client-supplied id for an error message, cut short so
// that a huge value cannot bloat the status.
func QuoteID(id string) string {
	const limit = 64
	if len(id) > limit {
		return fmt.Sprintf("%q…", id[:limit])
	}
	return fmt.Sprintf("%q", id)
}

// contains reports whether names holds name. A linear scan beats a map for
// the few topics a subscription names; at MaxTopics it is still only
// microseconds, once per request.
func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}
