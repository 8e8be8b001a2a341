package server

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/engine"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/subreq"
	"github.com/heraldhq/herald/topic"
)

const (
	// MaxTopics is the most topics and patterns one Subscribe call may
	// name.
	MaxTopics = subreq.MaxTopics
	// MaxFieldLen is the longest content type, event name or idempotency
	// key a publish may carry, in bytes.
	MaxFieldLen = 255
)

// rejection is a malformed request refused before it reached the engine:
// the status the client sees and the reason label counted in the metrics.
// Refusals for who is asking or how much are *refusal.Error values instead
// (access.go).
type rejection struct {
	err    error
	reason string
}

func invalidf(format string, args ...any) *rejection {
	return &rejection{err: status.Errorf(codes.InvalidArgument, format, args...), reason: reasonInvalid}
}

// topicMessage is the text of a topic package error without its
// "topic: invalid: " prefix, which says nothing to a client.
func topicMessage(err error) string { return subreq.TopicMessage(err) }

// validatePublish checks a publish request against the limits of the
// contract: a concrete topic, a payload within maxSize, and content type,
// event name and idempotency key that are safe to carry on every transport.
func validatePublish(req *heraldv1.PublishRequest, maxSize int) *rejection {
	if err := topic.Validate(req.GetTopic()); err != nil {
		return invalidf("%s", topicMessage(err))
	}
	if n := len(req.GetData()); n > maxSize {
		return &rejection{
			err:    status.Errorf(codes.ResourceExhausted, "message is %d bytes; the limit is %d", n, maxSize),
			reason: reasonTooLarge,
		}
	}
	if r := checkContentType(req.GetContentType()); r != nil {
		return r
	}
	if r := checkEvent(req.GetEvent()); r != nil {
		return r
	}
	return checkIdempotencyKey(req.GetIdempotencyKey())
}

// checkContentType allows any text without control characters; the value
// travels as a header on the HTTP transports.
func checkContentType(ct string) *rejection {
	if len(ct) > MaxFieldLen {
		return invalidf("content_type is %d bytes; the limit is %d", len(ct), MaxFieldLen)
	}
	if !utf8.ValidString(ct) {
		return invalidf("content_type is not valid UTF-8")
	}
	for i, r := range ct {
		if unicode.IsControl(r) {
			return invalidf("content_type: character %q at byte %d is not allowed (no control characters)", r, i)
		}
	}
	return nil
}

// checkEvent allows a conservative token alphabet: the event name becomes
// the SSE "event:" field, where a CR or LF would inject fields.
func checkEvent(ev string) *rejection {
	if len(ev) > MaxFieldLen {
		return invalidf("event is %d bytes; the limit is %d", len(ev), MaxFieldLen)
	}
	for i := 0; i < len(ev); i++ {
		if c := ev[i]; !eventByte(c) {
			return invalidf("event: character %q at byte %d is not allowed (use A-Z a-z 0-9 _ - . :)", rune(c), i)
		}
	}
	if strings.HasPrefix(ev, ReservedEventPrefix) {
		return invalidf("event %q: names starting with %q are reserved for control events", ev, ReservedEventPrefix)
	}
	return nil
}

// ReservedEventPrefix starts the names of the browser transports' control
// events (herald.subscribed, herald.gap, ...); messages may not use it.
const ReservedEventPrefix = "herald."

func eventByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '_', c == '-', c == '.', c == ':':
		return true
	}
	return false
}

// checkIdempotencyKey allows printable ASCII, space included.
func checkIdempotencyKey(key string) *rejection {
	if len(key) > MaxFieldLen {
		return invalidf("idempotency_key is %d bytes; the limit is %d", len(key), MaxFieldLen)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7e {
			return invalidf("idempotency_key: byte 0x%02x at %d is not allowed (use printable ASCII)", c, i)
		}
	}
	return nil
}

// subscription is a validated Subscribe request.
type subscription struct {
	patterns []topic.Pattern // de-duplicated, in request order
	names    []string        // patterns' String forms, same order
	after    engine.ID
}

// parseSubscribe validates a Subscribe request with the rules every
// transport shares (package subreq): one to MaxTopics valid topics or
// patterns, de-duplicated, and a well-formed last_event_id.
func parseSubscribe(req *heraldv1.SubscribeRequest) (subscription, *rejection) {
	sub, err := subreq.Parse(req.GetTopics(), req.GetLastEventId())
	if err != nil {
		return subscription{}, &rejection{err: err, reason: reasonInvalid}
	}
	return subscription{patterns: sub.Patterns, names: sub.Names, after: sub.After}, nil
}

// quoteID quotes a client-supplied id for an error message, cut short so
// that a huge value cannot bloat the status.
func quoteID(id string) string { return subreq.QuoteID(id) }
